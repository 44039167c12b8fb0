"""One classified change: its rule, what it is about, and where on either side."""

from __future__ import annotations

from dataclasses import dataclass

from ecmc.diff.rules import RULES, Rule
from ecmc.span import Span


@dataclass(frozen=True, slots=True)
class Change:
    rule: Rule
    subject: str
    """What changed, as an approval names it: a capability id, `CAP.field`, `table.column`."""
    message: str
    at: Span
    """Where on the new side (for a removal: the nearest place that remains)."""
    was: Span | None = None
    """Where on the old side."""


def new_change(code: str, subject: str, message: str, at: Span, was: Span | None = None) -> Change:
    return Change(RULES[code], subject, message, at, was)
