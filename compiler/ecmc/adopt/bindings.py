"""Capability bindings drafted where the ECM text leaves one reading, each marked.

A read-only capability whose input carries the primary key of exactly one table its engine
owns reads one row of it by that key. A write whose ECM text requires no audit emits no audit
row, said explicitly (`event_type`: `NONE`) for review: it appends its input to the one ledger
its engine owns when the input holds a whole row, else runs a handler. Every other capability
is left unbound: it runs the handler a person registers for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecm_contract import TruthType

from ecmc.ir import Capability, Engine, Program, Table
from ecmc.resolve.bindings import NO_EVENT
from ecmc.resolve.dictionary import INFERRED
from ecmc.typeref import ErrorRef, ListRef, OptionRef, RecordRef, ResultRef, TypeRef


@dataclass(frozen=True, slots=True)
class BindingDraft:
    capability_id: str
    operation: str
    entry: str


def draft_bindings(program: Program) -> dict[str, list[BindingDraft]]:
    """Engine id -> the bindings drafted for its unbound capabilities."""
    bound = {b.capability_id for b in program.bindings}
    tables = {t.name: t for t in program.tables}
    found: dict[str, list[BindingDraft]] = {}
    for engine in program.engines:
        owned = [tables[d.table] for d in engine.data_owned if d.table in tables]
        for cap in engine.capabilities:
            draft = None if cap.id in bound else _draft(cap, engine, owned)
            if draft is not None:
                found.setdefault(engine.engine_id, []).append(draft)
    return found


def _draft(cap: Capability, engine: Engine, owned: list[Table]) -> BindingDraft | None:
    writes = cap.side_effects is not None and cap.side_effects.writes
    if writes and not any(req.mode != "none" for req in cap.audit):
        no_event = f"- `event_type`: `{NO_EVENT}`"
        ledger = _appended_ledger(cap, owned)
        if ledger is not None:
            why = (
                f"an unaudited write whose input holds a row of {ledger.name}, the one ledger "
                f"{engine.engine_id} owns"
            )
            return _entry(cap.id, "append", [f"- `table`: `{ledger.name}`", no_event], why)
        why = "a write whose ECM text requires no audit event; a handler does its work"
        return _entry(cap.id, "handler", [no_event], why)
    table = None if writes else keyed_table(cap, owned)
    if table is None:
        return None
    lookup = f"- `lookup`: `({', '.join(table.primary_key)})`"
    why = f"a read of {table.name}, which {engine.engine_id} owns, by its primary key"
    return _entry(cap.id, "read_one", [f"- `table`: `{table.name}`", lookup], why)


def _appended_ledger(cap: Capability, owned: list[Table]) -> Table | None:
    """The one ledger the engine owns, when the input holds every column a row needs."""
    ledgers = [t for t in owned if t.truth_type is TruthType.LEDGER]
    if len(ledgers) != 1:
        return None
    inputs = {m.name for m in cap.input_fields}
    needed = {c.name for c in ledgers[0].columns if not c.nullable} - {ledgers[0].identity}
    return ledgers[0] if needed <= inputs else None


def keyed_table(cap: Capability, owned: list[Table]) -> Table | None:
    """The one owned table whose primary key the capability's input carries, if one."""
    inputs = {m.name for m in cap.input_fields}
    keyed = [t for t in owned if t.primary_key and set(t.primary_key) <= inputs]
    return keyed[0] if len(keyed) == 1 else None


def rows_read(program: Program) -> dict[str, str]:
    """Type name -> the table whose row it is, where a read-only capability returns it (alone,
    optional or listed) and its input carries the key of exactly one table its engine owns."""
    tables = {t.name: t for t in program.tables}
    found: dict[str, str] = {}
    for engine in program.engines:
        owned = [tables[d.table] for d in engine.data_owned if d.table in tables]
        for cap in engine.capabilities:
            writes = cap.side_effects is None or cap.side_effects.writes
            table = None if writes or cap.output is None else keyed_table(cap, owned)
            name = _returned_name(cap.output.type) if cap.output is not None else None
            if table is not None and name is not None:
                found.setdefault(name, table.name)
    return found


def _returned_name(ref: TypeRef) -> str | None:
    """The named type a schema returns: `T`, `Option<T>`, `List<T>`, `Result<T, E>`'s `T`."""
    while isinstance(ref, OptionRef | ListRef | ResultRef):
        ref = ref.ok if isinstance(ref, ResultRef) else ref.item
    return ref.name if isinstance(ref, ErrorRef | RecordRef) else None


def _entry(cap_id: str, operation: str, keys: list[str], why: str) -> BindingDraft:
    lines = [f"### `{cap_id}`", f"- `operation`: `{operation}`", *keys]
    lines.append(f"- `description`: {INFERRED} from {why}.")
    return BindingDraft(cap_id, operation, "\n".join(lines))
