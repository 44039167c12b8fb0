"""Tool providers shipped with the runtime. Register them with `rt.tools.register(name, p)`.

A provider takes the tool query's input model and returns its output (a model, or a mapping
the runner validates against the spec's `tool_response` shape). Failures it can name raise
`ecm_runtime.tools.ToolFailure` with a reason-code role.
"""

from ecm_runtime.providers.time_tool import TimeProvider
from ecm_runtime.providers.url_fetch import UrlFetchProvider

__all__ = ["TimeProvider", "UrlFetchProvider"]
