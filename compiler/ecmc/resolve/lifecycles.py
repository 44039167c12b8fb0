"""Lifecycles: states, final states, and the actions that move a subject between them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import bullet_names, keyed, value_text
from ecmc.frontend.syntax import Entry, Text
from ecmc.ir import Engine, Lifecycle, Table, Transition
from ecmc.resolve.wiring import referenced_code

LIFECYCLE_KEYS = frozenset(
    {"states", "final_states", "ledger", "current", "state_column", "action_column", "description"}
)


ACTION_KEYS = frozenset({"capability", "from", "to", "reason_code", "description"})


def resolve_lifecycle(
    engine_id: str,
    entry: Entry,
    engines: Mapping[str, Engine],
    tables: Mapping[str, Table],
    declared_codes: set[str],
    diagnostics: Diagnostics,
) -> Lifecycle:
    name = entry.name.text
    keys = keyed(entry.keys, LIFECYCLE_KEYS, f"lifecycle {name}", diagnostics)
    states = bullet_names(keys.get("states"), diagnostics)
    state_names = {s.text for s in states}
    if not states:
        diagnostics.report(
            Code.BAD_TRANSITION, entry.name.span, f"lifecycle {name} declares no 'states'"
        )
    final = bullet_names(keys.get("final_states"), diagnostics)
    _known_states(final, state_names, name, diagnostics)
    final_names = {s.text for s in final}
    for key in ("ledger", "current"):
        table = value_text(keys.get(key))
        if table and table not in tables:
            bullet = keys[key]
            diagnostics.report(
                Code.UNDEFINED_TABLE,
                bullet.value.span if bullet.value else bullet.span,
                f"lifecycle {name}: {key} table {table!r} is not defined",
            )
    ledger = tables.get(value_text(keys.get("ledger")))
    columns: dict[str, str] = {}
    for key in ("state_column", "action_column"):
        column_bullet = keys.get(key)
        column = value_text(column_bullet)
        if column_bullet is None or not column:
            diagnostics.report(
                Code.BAD_TRANSITION, entry.name.span, f"lifecycle {name} needs '{key}'"
            )
        elif ledger is not None and column not in {c.name for c in ledger.columns}:
            diagnostics.report(
                Code.UNKNOWN_COLUMN,
                column_bullet.value.span if column_bullet.value else column_bullet.span,
                f"lifecycle {name}: {key} {column!r} is not a column of {ledger.name}",
            )
        columns[key] = column
    engine = engines.get(engine_id)
    capability_ids = {c.id for c in engine.capabilities} if engine else set()
    transitions = []
    seen: set[str] = set()
    for action in entry.children:
        akeys = keyed(action.keys, ACTION_KEYS, f"action {action.name.text}", diagnostics)
        if action.name.text in seen:
            diagnostics.report(
                Code.BAD_TRANSITION,
                action.name.span,
                f"action {action.name.text} is declared twice",
            )
            continue
        seen.add(action.name.text)
        sources = bullet_names(akeys.get("from"), diagnostics)
        _known_states(sources, state_names, name, diagnostics)
        for source in sources:
            if source.text in final_names:
                diagnostics.report(
                    Code.BAD_TRANSITION,
                    source.span,
                    f"action {action.name.text} leaves final state {source.text}",
                )
        targets = bullet_names(akeys.get("to"), diagnostics)
        _known_states(targets, state_names, name, diagnostics)
        if len(targets) != 1:
            diagnostics.report(
                Code.BAD_TRANSITION,
                action.name.span,
                f"action {action.name.text} needs exactly one 'to' state",
            )
        capability = value_text(akeys.get("capability")) or None
        if capability is not None and capability not in capability_ids:
            bullet = akeys["capability"]
            diagnostics.report(
                Code.UNKNOWN_CAPABILITY,
                bullet.value.span if bullet.value else bullet.span,
                f"action {action.name.text}: capability {capability} is not declared by "
                f"{engine_id}",
            )
        reason = value_text(akeys.get("reason_code")) or None
        if reason is not None:
            referenced_code(akeys["reason_code"], declared_codes, diagnostics)
        transitions.append(
            Transition(
                action.name.text,
                capability,
                tuple(s.text for s in sources),
                targets[0].text if targets else "",
                reason,
                action.name.span,
            )
        )
    return Lifecycle(
        name,
        engine_id,
        tuple(s.text for s in states),
        tuple(sorted(final_names)),
        value_text(keys.get("ledger")) or None,
        value_text(keys.get("current")) or None,
        columns["state_column"],
        columns["action_column"],
        tuple(transitions),
        entry.name.span,
    )


def _known_states(
    names: Iterable[Text], states: set[str], lifecycle: str, diagnostics: Diagnostics
) -> None:
    for state in names:
        if state.text not in states:
            diagnostics.report(
                Code.BAD_TRANSITION,
                state.span,
                f"lifecycle {lifecycle} has no state {state.text!r}",
            )
