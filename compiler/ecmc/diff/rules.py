"""The rules `ecmc diff` classifies changes by: a stable code, a severity, and what it means.

Breaking changes break a consumer that keeps working against the old specs; security-relevant
ones widen who may do what; safe ones break nothing. A breaking or security-relevant change
fails CI unless the specs approve it (`approved_changes` in the engine header).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    BREAKING = "breaking"
    SECURITY = "security"
    SAFE = "safe"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Severity
    title: str


RULES = {
    rule.code: rule
    for rule in (
        Rule("ECMD001", Severity.BREAKING, "capability removed or renamed"),
        Rule("ECMD002", Severity.BREAKING, "required input field added"),
        Rule("ECMD003", Severity.BREAKING, "input field type narrowed"),
        Rule("ECMD004", Severity.BREAKING, "output field removed or its type changed"),
        Rule("ECMD005", Severity.BREAKING, "reason code removed"),
        Rule("ECMD006", Severity.BREAKING, "audit key dropped"),
        Rule("ECMD007", Severity.BREAKING, "lifecycle state or transition removed"),
        Rule("ECMD008", Severity.BREAKING, "table column removed or narrowed"),
        Rule("ECMD009", Severity.BREAKING, "primary or unique key changed"),
        Rule("ECMD010", Severity.BREAKING, "truth type of a LEDGER changed"),
        Rule("ECMD011", Severity.BREAKING, "input field removed"),
        Rule("ECMD012", Severity.BREAKING, "table removed"),
        Rule("ECMD013", Severity.BREAKING, "what the runtime does for a capability changed"),
        Rule("ECMD014", Severity.BREAKING, "reason code of a refusal or success changed"),
        Rule("ECMD015", Severity.BREAKING, "audit event type removed or narrowed"),
        Rule("ECMD016", Severity.BREAKING, "tool path changed"),
        Rule("ECMD101", Severity.SECURITY, "allowed callers widened"),
        Rule("ECMD102", Severity.SECURITY, "side effects widened from NONE"),
        Rule("ECMD103", Severity.SECURITY, "tenant scope dropped"),
        Rule("ECMD104", Severity.SECURITY, "audit emission dropped or weakened"),
        Rule("ECMD201", Severity.SAFE, "optional input field added"),
        Rule("ECMD202", Severity.SAFE, "capability added"),
        Rule("ECMD203", Severity.SAFE, "reason code added"),
        Rule("ECMD204", Severity.SAFE, "table or nullable column added"),
        Rule("ECMD205", Severity.SAFE, "input field type widened"),
        Rule("ECMD206", Severity.SAFE, "output field added"),
        Rule("ECMD207", Severity.SAFE, "allowed callers narrowed"),
        Rule("ECMD208", Severity.SAFE, "audit emission added or strengthened"),
        Rule("ECMD299", Severity.SAFE, "approval that matches no change"),
    )
}
