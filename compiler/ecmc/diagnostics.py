"""One Diagnostic type, a collector, and the human and JSON renderers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ecmc.codes import Code
from ecmc.registry import Severity, severity
from ecmc.span import Span


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    notes: tuple[str, ...] = ()

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.span.path, self.span.line, self.span.col, self.code, self.message)

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.span.path,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "severity": str(self.severity),
            "code": self.code,
            "message": self.message,
            "notes": list(self.notes),
        }


@dataclass
class Diagnostics:
    """Collects diagnostics; nothing in the front end raises for bad input."""

    items: list[Diagnostic] = field(default_factory=list)

    def report(self, code: Code, span: Span, message: str, *notes: str) -> None:
        self.items.append(Diagnostic(code, severity(code), message, span, notes))

    def extend(self, other: Iterable[Diagnostic]) -> None:
        self.items.extend(other)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(set(self.items), key=Diagnostic.sort_key)


def render_human(
    diagnostics: list[Diagnostic],
    sources: Mapping[str, list[str]],
    limit: int | None = 50,
    suppressed: int = 0,
) -> str:
    """`path:line:col: severity[CODE]: message`, the source line, and a caret underline."""
    shown = diagnostics if limit is None else diagnostics[:limit]
    out: list[str] = []
    for diag in shown:
        span = diag.span
        out.append(f"{span}: {diag.severity}[{diag.code}]: {diag.message}")
        lines = sources.get(span.path)
        if lines is not None and 1 <= span.line <= len(lines):
            text = lines[span.line - 1].expandtabs(1)
            if len(text) > 200:
                text = text[:200] + "..."
            width = (
                span.end_col - span.col if span.end_line == span.line else len(text) - span.col + 1
            )
            out.append(f"  {span.line:>4} | {text}")
            out.append("       | " + " " * (span.col - 1) + "^" * max(1, min(width, 200)))
        out.extend(f"       = note: {note}" for note in diag.notes)
    hidden = len(diagnostics) - len(shown)
    if hidden > 0:
        out.append(f"... and {hidden} more")
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    if diagnostics:
        quiet = f", {suppressed} suppressed" if suppressed else ""
        out.append(f"{errors} error(s), {warnings} warning(s){quiet}")
    return "\n".join(out)


def render_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([d.as_json() for d in diagnostics], indent=2, ensure_ascii=False)
