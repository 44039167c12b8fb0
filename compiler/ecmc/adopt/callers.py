"""Caller policies drafted from the `allowed_callers` values the ECM files name.

A policy `X_ONLY` admits the caller class `X`; any other policy name admits the class of the
same name. Every drafted class and policy says so, so a reviewer sees the guess.
"""

from __future__ import annotations

from ecmc.adopt.documents import Document
from ecmc.ir import Program
from ecmc.resolve.dictionary import INFERRED

_ONLY = "_ONLY"


def undeclared_policies(program: Program) -> list[str]:
    """Policy names capabilities use that no caller spec declares, in order of appearance."""
    declared = {p.name for p in program.caller_policies}
    used = (cap.allowed_callers for e in program.engines for cap in e.capabilities)
    return list(dict.fromkeys(p for p in used if p and p not in declared))


def caller_class(policy: str) -> str:
    return policy.removesuffix(_ONLY) if policy.endswith(_ONLY) else policy


def class_entry(name: str, policy: str) -> str:
    return f"- `{name}`: {INFERRED} from the allowed_callers policy `{policy}`"


def policy_entry(policy: str) -> str:
    return f"- `{policy}`: `{caller_class(policy)}`"


def add_policies(document: Document, policies: list[str]) -> None:
    """A class and a policy for each policy name, unless the document has them."""
    for policy in policies:
        name = caller_class(policy)
        document.add("Caller Classes", name, class_entry(name, policy))
        document.add("Caller Policies", policy, policy_entry(policy))


def callers_markdown(policies: list[str]) -> str:
    """A CALLER_POLICIES spec with a class and a policy for each name."""
    document = Document("Drafted caller classes and policies", ["- `kind`: `CALLER_POLICIES`"])
    add_policies(document, policies)
    return document.markdown()
