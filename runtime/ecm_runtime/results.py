"""What a write returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Written:
    id: int
    """The id of the row written, or of the original row when `replayed`."""
    replayed: bool
    """True when an idempotent retry found the original and wrote nothing."""
    reason_code: str | None
    """The idempotency-replay code on a replay, else the reason code of the audit row."""
