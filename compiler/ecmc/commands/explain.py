"""`ecmc lint --explain CODE` and `--list-codes`: the texts, from the explanations and the
registry of codes."""

from __future__ import annotations

from ecmc.codes import REGISTRY
from ecmc.commands.explanations import EXPLANATIONS

__all__ = ["EXPLANATIONS", "explain", "list_codes"]


def explain(code: str) -> str | None:
    """The text `--explain` prints, or None for an unknown code."""
    entry = REGISTRY.get(code)
    explanation = EXPLANATIONS.get(code)
    if entry is None or explanation is None:
        return None
    example = "\n".join(f"    {line}" for line in explanation.example.split("\n"))
    return (
        f"{entry.code} ({entry.severity}): {entry.summary}\n\n"
        f"Rule: {explanation.rule}\n\n"
        f"Fails:\n{example}\n\n"
        f"Fix: {explanation.fix}"
    )


def list_codes() -> str:
    return "\n".join(f"{e.code}  {e.severity:<7}  {e.summary}" for e in REGISTRY.values())
