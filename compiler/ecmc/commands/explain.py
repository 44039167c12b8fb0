"""`ecmc lint --explain CODE` and `--list-codes`: the texts, from the one rule registry."""

from __future__ import annotations

from ecmc.registry import RULES


def explain(code: str) -> str | None:
    """The text `--explain` prints (any diagnostic or diff code), or None for an unknown code."""
    rule = RULES.get(code)
    return rule.explained() if rule is not None else None


def list_codes() -> str:
    return "\n".join(f"{r.code}  {r.severity:<8}  {r.summary}" for r in RULES.values())
