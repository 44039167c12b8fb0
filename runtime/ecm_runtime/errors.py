"""The one error hierarchy of the runtime: every refusal carries a reason code from the specs."""

from __future__ import annotations


class StorageError(Exception):
    """A refused or failed call. `reason_code` is always a code an ECM spec declares."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(f"{reason_code}: {message}")
        self.reason_code = reason_code
        self.message = message
