"""A lifecycle drafted where the evidence writes one out.

The evidence: a chain of states in the DB wiring document or the ECM text (`DRAFT ->
PENDING_APPROVAL -> APPROVED|REJECTED -> FULFILLED|CANCELED`), a ledger the engine owns with
a state column and an action column, a CURRENT projection of it, and write capabilities whose
names say which state each leads to (`..._APPROVE_EXECUTE` -> `APPROVED`: the same word, or
the same stem). Each such capability becomes an action from the states before its own in the
chain; the states no action leaves are final. A chain cannot say which of two alternatives
leads on, so every draft says so for review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecm_contract import CLOCK_FIELD, REASON_FIELD, REPLAYED_FIELD, TruthType

from ecmc.adopt.projections import is_write_time
from ecmc.adopt.proposal import Declaration, action_name, words
from ecmc.adopt.wiring_docs import Cited, StateChain, WiringDocument, state_chains
from ecmc.ir import Capability, Engine, Program, Table
from ecmc.resolve.dictionary import INFERRED

_STATE_COLUMNS = re.compile(r"status|state|\w+_state|\w+_status")
_ACTION_COLUMNS = re.compile(r"action|\w+_action")
_SUFFIXES = ("ing", "ed", "al", "e", "d")
"""Longest first: `approved` loses `ed`, `approve` its `e`, `approval` its `al`."""


@dataclass(frozen=True, slots=True)
class LifecycleDraft:
    declarations: tuple[Declaration, ...]
    inputs: tuple[str, ...]
    """The fields of an action's input: the ledger row less what the action sets."""
    outputs: tuple[str, ...]
    """The fields of an action's answer: the subject's key, its event, state and code."""
    capabilities: tuple[Capability, ...]


def draft_lifecycle(
    program: Program, engine: Engine, document: WiringDocument | None, ecm_text: str
) -> LifecycleDraft | None:
    tables = {t.name: t for t in program.tables}
    owned = [tables[d.table] for d in engine.data_owned if d.table in tables]
    bound = {b.capability_id for b in program.bindings}
    if any(lc.engine_id == engine.engine_id for lc in program.lifecycles):
        return None
    for current in owned:
        ledger = tables.get(current.projection_of or "")
        if ledger is None or ledger.truth_type is not TruthType.LEDGER or ledger not in owned:
            continue
        columns = _columns(ledger, current)
        if columns is None:
            continue
        writes = [c for c in engine.capabilities if c.id not in bound and c.writes]
        chains = [*(document.chains if document else []), *_ecm_chains(ecm_text, engine)]
        found = _best(chains, writes)
        if found is not None:
            chain, targets = found
            return _draft(engine, ledger, current, columns, chain, targets)
    return None


def _columns(ledger: Table, current: Table) -> tuple[str, str] | None:
    names = {c.name for c in ledger.columns}
    state = [
        n for n in names if _STATE_COLUMNS.fullmatch(n) and n in {c.name for c in current.columns}
    ]
    action = [n for n in names if _ACTION_COLUMNS.fullmatch(n)]
    return (state[0], action[0]) if len(state) == 1 and len(action) == 1 else None


def _ecm_chains(text: str, engine: Engine) -> list[StateChain]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        found += state_chains(line, Cited(engine.source, number))
    return found


def _best(
    chains: list[StateChain], writes: list[Capability]
) -> tuple[StateChain, dict[str, str]] | None:
    """The chain whose states the most capabilities lead to, with capability -> state."""
    best: tuple[StateChain, dict[str, str]] | None = None
    for chain in chains:
        states = [s for group in chain.groups for s in group]
        targets = {c.id: t for c in writes if (t := _target(c, states)) is not None}
        if len(set(targets.values())) >= 2 and (best is None or len(targets) > len(best[1])):
            best = (chain, targets)
    return best


def _target(cap: Capability, states: list[str]) -> str | None:
    """The state a capability's name leads to: the most words shared (a word counts twice,
    a stem once), then the state with fewest words; None when two tie."""
    have = words(cap.id)
    stems = {_stem(w) for w in have}
    scored = []
    for state in states:
        named = words(state)
        score = 2 * len(named & have) + len({_stem(w) for w in named - have} & stems)
        if score:
            scored.append((score, -len(named), state))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[0][:2] == scored[1][:2]):
        return None
    return scored[0][2]


def _stem(word: str) -> str:
    """A word without its ending, so that a verb and its state meet (`approve`, `approved`,
    `approval`; `ship`, `shipped`; `pay`, `paid`; `cancel`, `cancelled`)."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2]:
        word = word[:-1]  # a doubled consonant: shipp -> ship, fulfill -> fulfil
    return word[:-1] + "i" if word.endswith("y") else word


def _draft(
    engine: Engine,
    ledger: Table,
    current: Table,
    columns: tuple[str, str],
    chain: StateChain,
    targets: dict[str, str],
) -> LifecycleDraft:
    state_column, action_column = columns
    states = [s for group in chain.groups for s in group]
    group_of = {s: i for i, group in enumerate(chain.groups) for s in group}
    caps = [c for c in engine.capabilities if c.id in targets]
    success = [c.code for c in engine.reason_codes if "ok" in words(c.code)]
    actions, leaving = [], set()
    for cap in caps:
        to = targets[cap.id]
        before = chain.groups[group_of[to] - 1] if group_of[to] else ()
        leaving |= set(before)
        action = action_name(cap, engine)
        lines = [
            f"#### `{action}`",
            f"- `capability`: `{cap.id}`",
            f"- `from`: `({', '.join(before)})`" if before else "- `from`: `none`",
            f"- `to`: `{to}`",
        ]
        code = _code(action, success)
        lines += [f"- `reason_code`: `{code}`"] if code else []
        actions.append("\n".join(lines))
    final = [s for s in states if s not in leaving]
    name = ledger.name.removesuffix("_ledger").removesuffix("_events")
    why = (
        f"{INFERRED} from {chain.at} ({' -> '.join('|'.join(g) for g in chain.groups)}) and the "
        "capability names; review which states each action leaves from"
    )
    head = [
        f"### `{name}`",
        f"- `states`: `({', '.join(states)})`",
        f"- `final_states`: `({', '.join(final)})`",
        f"- `ledger`: `{ledger.name}`",
        f"- `current`: `{current.name}`",
        f"- `state_column`: `{state_column}`",
        f"- `action_column`: `{action_column}`",
        f"- `description`: {why}.",
    ]
    entry = "\n".join(head) + "\n\n" + "\n\n".join(actions)
    return LifecycleDraft(
        (Declaration("Lifecycles", name, entry),),
        _inputs(ledger, {state_column, action_column, REASON_FIELD}),
        _outputs(ledger, current, state_column),
        tuple(caps),
    )


def _code(action: str, success: list[str]) -> str | None:
    scored = sorted(((len(words(action) & words(c)), c) for c in success), reverse=True)
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1]


def _inputs(ledger: Table, set_by_action: set[str]) -> tuple[str, ...]:
    fields: list[str] = []
    for column in ledger.columns:
        if column.name in set_by_action or column.name == ledger.identity:
            continue
        if is_write_time(column.name):
            name = CLOCK_FIELD
        elif "hash" in column.name and not column.nullable:
            continue  # the call's digest fills it
        else:
            name = column.name + ("?" if column.nullable else "")
        if name not in fields:
            fields.append(name)
    return tuple(fields)


def _outputs(ledger: Table, current: Table, state_column: str) -> tuple[str, ...]:
    names = [*current.primary_key, ledger.identity or "", state_column]
    names += [REASON_FIELD] if REASON_FIELD in {c.name for c in ledger.columns} else []
    return (*dict.fromkeys(n for n in names if n), REPLAYED_FIELD)
