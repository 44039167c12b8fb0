"""What a write returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RowId = int | str | tuple[Any, ...]
"""A row's key: its identity column, else its primary key (a tuple when composite)."""


@dataclass(frozen=True, slots=True)
class Written:
    id: RowId
    """The key of the row written, or of the original row when `replayed`."""
    replayed: bool
    """True when an idempotent retry found the original and wrote nothing."""
    reason_code: str | None
    """The idempotency-replay code on a replay, else the reason code of the audit row."""
