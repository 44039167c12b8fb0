"""One rule: its stable code, its severity (a diagnostic's) or impact (a change's), and what it
means, with a failing example and the fix. Read by lint, `--explain`, `--list-codes`, diff
and the docs alike."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a diagnostic is: an error stops the build; a warning can be suppressed."""

    ERROR = "error"
    WARNING = "warning"


class Impact(StrEnum):
    """What a change between two versions of the specs does to who relies on them."""

    BREAKING = "breaking"
    SECURITY = "security"
    SAFE = "safe"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Severity | Impact
    summary: str
    rule: str
    example: str
    fix: str

    def explained(self) -> str:
        """The text `ecmc lint --explain CODE` prints."""
        example = "\n".join(f"    {line}" for line in self.example.split("\n"))
        return (
            f"{self.code} ({self.severity}): {self.summary}\n\n"
            f"Rule: {self.rule}\n\n"
            f"Fails:\n{example}\n\n"
            f"Fix: {self.fix}"
        )
