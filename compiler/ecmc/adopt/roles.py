"""Reason-code roles drafted from the words of the codes an engine declares.

The runtime refuses a call for one of a few reasons (a role: the contract, the tenant scope,
a replayed key, an append-only table, a caller, a lifecycle step, a tool's failures) and
answers with the engine's code for that role. A code's words say its role
(`D_FAIL_INVALID_SCHEMA` is a contract failure, `ART_SCOPE_VIOLATION` a scope one); an engine
without a code of its own for a role takes that of the engine its ECM text sends its audit
rows to (`emit PH1.J ...`), the one whose codes every engine's refusals share; failing that,
it gets a drafted code of its own (`K_FAIL_SCOPE_VIOLATION`), never an unrelated engine's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ecm_contract import Operation, Role

from ecmc.adopt.proposal import Declaration, common_prefix, words
from ecmc.ir import Engine, Program
from ecmc.resolve.dictionary import INFERRED

_WORDS: Mapping[Role, tuple[frozenset[str], ...]] = {
    Role.CONTRACT_VALIDATION: (
        frozenset({"contract"}),
        frozenset({"validation"}),
        frozenset({"invalid", "schema"}),
        frozenset({"schema"}),
    ),
    Role.SCOPE_VIOLATION: (frozenset({"scope"}), frozenset({"tenant"})),
    Role.IDEMPOTENCY_REPLAY: (frozenset({"idempotency"}), frozenset({"replay"})),
    Role.APPEND_ONLY_VIOLATION: (frozenset({"append", "only"}),),
    Role.CALLER_REFUSED: (frozenset({"caller"}), frozenset({"unauthorized"})),
    Role.TRANSITION_INVALID: (frozenset({"transition"}),),
    Role.FORBIDDEN_TOOL: (frozenset({"forbidden", "tool"}),),
    Role.TIMEOUT: (frozenset({"timeout"}),),
    Role.BUDGET_EXCEEDED: (frozenset({"budget"}),),
    Role.POLICY_BLOCK: (frozenset({"policy", "block"}),),
    Role.FORBIDDEN_DOMAIN: (frozenset({"forbidden", "domain"}),),
    Role.PROVIDER_ERROR: (frozenset({"provider"}),),
}
_BASE = (
    Role.CONTRACT_VALIDATION,
    Role.SCOPE_VIOLATION,
    Role.IDEMPOTENCY_REPLAY,
    Role.APPEND_ONLY_VIOLATION,
    Role.CALLER_REFUSED,
)
_TOOL = (
    Role.FORBIDDEN_TOOL,
    Role.TIMEOUT,
    Role.BUDGET_EXCEEDED,
    Role.POLICY_BLOCK,
    Role.FORBIDDEN_DOMAIN,
    Role.PROVIDER_ERROR,
)
_FALLBACK = {
    Role.CALLER_REFUSED: Role.SCOPE_VIOLATION,
    Role.TRANSITION_INVALID: Role.CONTRACT_VALIDATION,
}
"""A role no code names shares the code of a kindred one (a refused caller is out of scope)."""


def draft_roles(program: Program, engine: Engine, text: str) -> list[Declaration]:
    """The drafted `- `role`: `CODE`` entries for the roles the engine's bindings need and no
    wiring gives yet; and a code drafted for a tool role no code names (the runtime answers a
    provider's failure with one)."""
    given = {r.role for r in program.reason_code_roles if r.engine_id == engine.engine_id}
    bound = {b.capability_id: b.operation for b in program.bindings}
    operations = {bound.get(c.id) for c in engine.capabilities}
    needed = list(_BASE)
    if Operation.TRANSITION in operations:
        needed.append(Role.TRANSITION_INVALID)
    if Operation.TOOL_QUERY in operations:
        needed += _TOOL
    named = _audited_to(program, engine, text)
    chosen: dict[Role, tuple[str, str]] = {}
    for role in needed:
        found = _own(engine, role)
        if found is not None:
            chosen[role] = (found, "its words")
    for role in needed:
        if role in chosen:
            continue
        kin = _FALLBACK.get(role)
        if kin is not None and kin in chosen:
            chosen[role] = (chosen[kin][0], f"the {kin} code (no code of its own names it)")
            continue
        for other in named:
            found = _own(other, role)
            if found is not None:
                chosen[role] = (found, f"{other.engine_id}, which the ECM text sends it to")
                break
    declared: list[Declaration] = []
    for role in needed:
        if role not in chosen:
            # No code names it and no audit sink lends one: the engine gets a code of its own
            # rather than another engine's (whose words would mislead a reader of the row).
            prefix = common_prefix([c.code for c in engine.reason_codes])
            code = f"{prefix or engine.engine_id.replace('.', '_').upper()}_FAIL_{role.upper()}"
            entry = f"- `{code}`: {INFERRED} from the runtime's need of a code for {role}"
            declared.append(Declaration("Reason Codes", code, entry))
            chosen[role] = (code, f"the runtime's need of a code for {role}")
    declared += [
        Declaration("Reason Code Roles", str(role), f"- `{role}`: `{code}` — {INFERRED} from {why}")
        for role, (code, why) in chosen.items()
        if str(role) not in given
    ]
    return declared


def _own(engine: Engine, role: Role) -> str | None:
    """The engine's one code whose words name the role (the first reading that finds one)."""
    codes = [c.code for c in engine.reason_codes if "ok" not in words(c.code)]
    for reading in _WORDS.get(role, ()):
        found = [c for c in codes if reading <= words(c)]
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _audited_to(program: Program, engine: Engine, text: str) -> list[Engine]:
    """The other engines the ECM text names where it speaks of audit: its audit sink."""
    audit_lines = " ".join(
        line
        for line in text.splitlines()
        if any(w.startswith(("audit", "emit")) for w in words(line))
    )
    return [e for e in program.engines if e is not engine and _names(audit_lines, e.engine_id)]


def _names(text: str, engine_id: str) -> bool:
    """Whether the text names the engine: `PH1.L` in 'PH1.L.' or '(PH1.L)', not in 'PH1.LEARN'."""
    return re.search(rf"(?<![\w.]){re.escape(engine_id)}(?![\w]|\.\w)", text) is not None
