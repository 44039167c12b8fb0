"""Tool providers shipped with the runtime. Register them with `rt.tools.register(name, p)`.

A provider takes the tool query's input model and returns its output (a model, or a mapping
the runner validates against the spec's `tool_response` shape). Failures it can name raise
`ecm_runtime.tools.ToolFailure` with a reason-code role.

`ZERO_SETUP` lists the providers every runtime registers by itself, for the tools of its
catalog that bear their name: they need no configuration and no network. The URL provider
needs an allow-list of domains and stays off until a service registers it; it is imported on
first use, so a runtime that never fetches never loads an HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecm_runtime.providers.time_tool import TimeProvider

if TYPE_CHECKING:
    from ecm_runtime.providers.url_fetch import UrlFetchProvider

ZERO_SETUP = (TimeProvider,)

__all__ = ["ZERO_SETUP", "TimeProvider", "UrlFetchProvider"]


def __getattr__(name: str) -> Any:
    if name == "UrlFetchProvider":
        from ecm_runtime.providers.url_fetch import UrlFetchProvider

        return UrlFetchProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
