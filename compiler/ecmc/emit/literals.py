"""The only ways text from a spec reaches generated code: as a literal or inside a docstring.

`pyrepr` emits any literal with `repr`, which Python guarantees round-trips; quotes are
normalised to the double quotes ruff format writes. `docstring` escapes what could end a
docstring early or change its meaning. Both are registered once, in `FILTERS`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

_DOC_WIDTH = 92


def pyrepr(value: object) -> str:
    """A Python literal for `value`: str, int, bool, None, and tuples of those."""
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(pyrepr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"no literal for {type(value).__name__}")


def _string(value: str) -> str:
    text = repr(value)
    if text.startswith("'") and '"' not in value:
        # Same string, in the double quotes ruff format prefers; no escape changes meaning.
        text = '"' + text[1:-1].replace("\\'", "'") + '"'
    return text


def docstring(text: str, indent: int = 0) -> str:
    """Lines for a docstring body: wrapped, with backslashes, quotes and controls escaped."""
    escaped = (
        "".join(
            ch if ch == "\n" or ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
            for ch in text.replace("\\", "\\\\")
        )
        .replace('"""', '\\"\\"\\"')
        .strip()
    )
    if escaped.endswith('"'):
        escaped = escaped[:-1] + '\\"'
    width = max(_DOC_WIDTH - indent, 40)
    lines: list[str] = []
    for paragraph in escaped.split("\n"):
        stripped = paragraph.rstrip()
        lead = len(stripped) - len(stripped.lstrip())
        wrapped = textwrap.wrap(
            stripped.lstrip(),
            width=width - lead,
            break_long_words=False,
            break_on_hyphens=False,
            initial_indent=" " * lead,
            subsequent_indent=" " * lead,
        )
        lines.extend(wrapped or [""])
    pad = " " * indent
    return "\n".join(pad + line if line else "" for line in lines)


def comment(text: str) -> str:
    """Text for a `#` comment: one line, printable characters only."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


FILTERS: dict[str, Callable[..., Any]] = {
    "pyrepr": pyrepr,
    "docstring": docstring,
    "comment": comment,
}
