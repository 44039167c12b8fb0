"""The one registry of rules: every diagnostic (ECM...) and every diff rule (ECMD...), each one
object with its code, severity or impact, summary, and explanation with an example and the
fix (ecmc.registry.rule). Codes are never renumbered or reused: scripts and snapshot tests
depend on them."""

from __future__ import annotations

from ecm_contract.invariants import of_type

from ecmc.codes import Code
from ecmc.registry import companion_rules, diff_rules, document_rules, semantic_rules
from ecmc.registry.rule import Impact, Rule, Severity

__all__ = ["DIAGNOSTICS", "DIFF_RULES", "RULES", "Impact", "Rule", "Severity", "severity"]

DIAGNOSTICS: dict[str, Rule] = {
    rule.code: rule
    for rule in (*document_rules.RULES, *semantic_rules.RULES, *companion_rules.RULES)
}
"""Every diagnostic code, in the order `--list-codes` prints them."""
DIFF_RULES: dict[str, Rule] = {rule.code: rule for rule in diff_rules.RULES}
RULES: dict[str, Rule] = {**DIAGNOSTICS, **DIFF_RULES}


def severity(code: Code) -> Severity:
    """A diagnostic's severity (its rule's; every diagnostic rule has one)."""
    return of_type(DIAGNOSTICS[code.value].severity, Severity, f"the severity of {code}")
