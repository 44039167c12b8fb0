"""One classified change: its rule, what it is about, and where on either side."""

from __future__ import annotations

from dataclasses import dataclass

from ecmc.registry import DIFF_RULES, Rule
from ecmc.span import Span


@dataclass(frozen=True, slots=True)
class Change:
    rule: Rule
    subject: str
    """What changed, as an approval names it: a capability id, `CAP.field`, `table.column`."""
    message: str
    at: Span
    """Where it stands: on the new side, or for a removal where it stood on the old side."""
    was: Span | None = None
    """Where on the old side."""
    old_side: bool = False
    """`at` is on the old side: what was removed is shown where it stood."""


def new_change(
    code: str,
    subject: str,
    message: str,
    at: Span,
    was: Span | None = None,
    *,
    old_side: bool = False,
) -> Change:
    return Change(DIFF_RULES[code], subject, message, at, was, old_side)
