"""Lifecycles: states, final states, and the actions that move a subject between them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import bullet_names, keyed, value_text
from ecmc.frontend.syntax import Bullet, Entry, Text
from ecmc.ir import Engine, Lifecycle, Table, Transition
from ecmc.resolve.dictionary import report_unconfirmed
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
    described = value_text(keys.get("description"))
    report_unconfirmed(described, entry.name.span, f"lifecycle {name}", diagnostics)
    states = bullet_names(keys.get("states"), diagnostics)
    if not states:
        diagnostics.report(
            Code.BAD_TRANSITION, entry.name.span, f"lifecycle {name} declares no 'states'"
        )
    final = bullet_names(keys.get("final_states"), diagnostics)
    state_names = {s.text for s in states}
    _known_states(final, state_names, name, diagnostics)
    columns = _columns(name, keys, entry, tables, diagnostics)
    engine = engines.get(engine_id)
    actions = _Actions(
        engine_id,
        name,
        state_names,
        {s.text for s in final},
        {c.id for c in engine.capabilities} if engine else set(),
        declared_codes,
        diagnostics,
    )
    return Lifecycle(
        name,
        engine_id,
        tuple(s.text for s in states),
        tuple(sorted(s.text for s in final)),
        value_text(keys.get("ledger")) or None,
        value_text(keys.get("current")) or None,
        columns["state_column"],
        columns["action_column"],
        actions.transitions(entry.children),
        entry.name.span,
    )


def _columns(
    name: str,
    keys: Mapping[str, Bullet],
    entry: Entry,
    tables: Mapping[str, Table],
    diagnostics: Diagnostics,
) -> dict[str, str]:
    """The ledger and current tables exist; the state and action columns are the ledger's."""
    for key in ("ledger", "current"):
        table = value_text(keys.get(key))
        if table and table not in tables:
            named = keys[key]
            diagnostics.report(
                Code.UNDEFINED_TABLE,
                named.value.span if named.value else named.span,
                f"lifecycle {name}: {key} table {table!r} is not defined",
            )
    ledger = tables.get(value_text(keys.get("ledger")))
    columns: dict[str, str] = {}
    for key in ("state_column", "action_column"):
        bullet = keys.get(key)
        column = value_text(bullet)
        if bullet is None or not column:
            diagnostics.report(
                Code.BAD_TRANSITION, entry.name.span, f"lifecycle {name} needs '{key}'"
            )
        elif ledger is not None and column not in {c.name for c in ledger.columns}:
            diagnostics.report(
                Code.UNKNOWN_COLUMN,
                bullet.value.span if bullet.value else bullet.span,
                f"lifecycle {name}: {key} {column!r} is not a column of {ledger.name}",
            )
        columns[key] = column
    return columns


@dataclass(frozen=True)
class _Actions:
    """A lifecycle's actions, each checked against its states and its engine."""

    engine_id: str
    lifecycle: str
    states: set[str]
    final: set[str]
    capabilities: set[str]
    declared_codes: set[str]
    diagnostics: Diagnostics

    def transitions(self, actions: Iterable[Entry]) -> tuple[Transition, ...]:
        found: list[Transition] = []
        seen: set[str] = set()
        for action in actions:
            if action.name.text in seen:
                self.diagnostics.report(
                    Code.BAD_TRANSITION,
                    action.name.span,
                    f"action {action.name.text} is declared twice",
                )
                continue
            seen.add(action.name.text)
            found.append(self.transition(action))
        return tuple(found)

    def transition(self, action: Entry) -> Transition:
        diagnostics, label = self.diagnostics, action.name.text
        keys = keyed(action.keys, ACTION_KEYS, f"action {label}", diagnostics)
        sources = bullet_names(keys.get("from"), diagnostics)
        _known_states(sources, self.states, self.lifecycle, diagnostics)
        for source in sources:
            if source.text in self.final:
                diagnostics.report(
                    Code.BAD_TRANSITION,
                    source.span,
                    f"action {label} leaves final state {source.text}",
                )
        targets = bullet_names(keys.get("to"), diagnostics)
        _known_states(targets, self.states, self.lifecycle, diagnostics)
        if len(targets) != 1:
            diagnostics.report(
                Code.BAD_TRANSITION,
                action.name.span,
                f"action {label} needs exactly one 'to' state",
            )
        capability = value_text(keys.get("capability")) or None
        if capability is not None and capability not in self.capabilities:
            bullet = keys["capability"]
            diagnostics.report(
                Code.UNKNOWN_CAPABILITY,
                bullet.value.span if bullet.value else bullet.span,
                f"action {label}: capability {capability} is not declared by {self.engine_id}",
            )
        reason = value_text(keys.get("reason_code")) or None
        if reason is not None:
            referenced_code(keys["reason_code"], self.declared_codes, diagnostics)
        return Transition(
            label,
            capability,
            tuple(s.text for s in sources),
            targets[0].text if targets else "",
            reason,
            action.name.span,
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
