"""Warnings acknowledged in the spec, next to what they silence, with the reason:

    - read capabilities emit nothing. <!-- ecmc: allow ECM067 reads are replay reads -->

or on a line of its own, silencing the next line that holds text. The comment is blanked
before the Markdown is parsed (offsets kept), so it changes nothing the spec says. Only
warnings can be acknowledged; an error is a fact about the spec that no comment changes. A
suppression without a reason, naming an unknown code or an error, or silencing nothing is
itself a warning (ECM077), which no comment silences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostic, Diagnostics
from ecmc.registry import DIAGNOSTICS, Severity
from ecmc.span import Span

_COMMENT = re.compile(r"<!--(?P<body>.*?)-->", re.S)
_ALLOW = re.compile(
    r"\s*ecmc\s*:\s*allow\s+(?P<code>[^\s:\u2014\u2013]+)\s*(?:[:\u2014\u2013-]+\s*)?(?P<reason>.*?)\s*",
    re.S,
)


@dataclass(frozen=True, slots=True)
class Suppression:
    code: str
    reason: str
    span: Span
    """The comment."""
    target: int
    """The line it silences: its own when it shares it with text, else the next with text."""


def read_suppressions(path: str, text: str) -> tuple[str, list[Suppression]]:
    """The text with every `ecmc:` comment blanked, and the suppressions they state."""
    found: list[Suppression] = []
    chars = list(text)
    for match in _COMMENT.finditer(text):
        allow = _ALLOW.fullmatch(match["body"])
        if allow is None:
            continue  # an author's comment: Markdown keeps it as it is
        for at in range(match.start(), match.end()):
            if chars[at] != "\n":
                chars[at] = " "
        line = text.count("\n", 0, match.start()) + 1
        col = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        span = Span(path, line, col, line, col + len(match[0]))
        found.append(Suppression(allow["code"].upper(), allow["reason"], span, line))
    blanked = "".join(chars)
    lines = blanked.split("\n")
    return blanked, [_targeted(s, lines) for s in found]


def _targeted(suppression: Suppression, lines: list[str]) -> Suppression:
    line = suppression.span.line
    while line <= len(lines) and not lines[line - 1].strip():
        line += 1
    return Suppression(suppression.code, suppression.reason, suppression.span, line)


def apply_suppressions(
    diagnostics: Iterable[Diagnostic], suppressions: Iterable[Suppression], report: Diagnostics
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """(kept, suppressed): the warnings each valid suppression silences are set apart; every
    problem of a suppression itself is reported to `report`."""
    kept = list(diagnostics)
    suppressed: list[Diagnostic] = []
    for suppression in suppressions:
        problem = _problem(suppression)
        if problem is not None:
            report.report(Code.SUPPRESSION, suppression.span, problem)
            continue
        silenced = [
            d
            for d in kept
            if d.code == suppression.code
            and d.span.path == suppression.span.path
            and suppression.span.line <= d.span.line <= suppression.target
        ]
        if not silenced:
            report.report(
                Code.SUPPRESSION,
                suppression.span,
                f"the suppression of {suppression.code} silences nothing on line "
                f"{suppression.target}; delete it",
            )
        suppressed += silenced
        kept = [d for d in kept if d not in silenced]
    return kept, suppressed


def _problem(suppression: Suppression) -> str | None:
    rule = DIAGNOSTICS.get(suppression.code)
    if rule is None:
        return f"a suppression names {suppression.code!r}, which is no diagnostic code"
    if rule.severity is Severity.ERROR:
        return f"{suppression.code} is an error; an error cannot be suppressed, only fixed"
    if suppression.code == Code.SUPPRESSION:
        return "a suppression's own warnings cannot be suppressed"
    if not suppression.reason:
        return f"the suppression of {suppression.code} states no reason; say why it is right"
    return None
