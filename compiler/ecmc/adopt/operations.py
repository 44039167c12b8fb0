"""The operation a capability's words and schemas evidence, one rule per operation.

Each rule reads a capability against the tables its engine owns (and the system's audit log)
and proposes a binding, or nothing; `draft_bindings` offers a capability every proposal in
order, and the compiler is the judge: a proposal it refuses gives way to the next. Every
proposal is marked with the evidence it was read from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ecm_contract import REASON_FIELD, Operation, TruthType

from ecmc.adopt.proposal import (
    BindingDraft,
    Declaration,
    action_name,
    common_prefix,
    entry,
    event_type,
    fill_from,
    keyed_table,
    named_event_type,
    names,
    words,
)
from ecmc.adopt.tools import tool_name, tool_queries
from ecmc.adopt.wiring_docs import Cited, WriteEvidence
from ecmc.ir import Capability, Engine, Program, Record, Table
from ecmc.resolve.bindings import NO_EVENT
from ecmc.resolve.dictionary import INFERRED
from ecmc.typeref import (
    ListRef,
    MapRef,
    OptionRef,
    RecordRef,
    ResultRef,
    TupleRef,
    TypeRef,
    UnitRef,
)

_TRANSITION_EVENT = "STATE_TRANSITION"
_UPSERT_WORDS = frozenset({"upsert", "put", "set", "save", "store", "write", "update"})


@dataclass(frozen=True)
class Scene:
    """What one capability is drafted against."""

    program: Program
    engine: Engine
    owned: tuple[Table, ...]
    audit_log: Table | None
    owner: Callable[[str], str | None]
    """Table name -> the engine whose wiring holds it."""
    records: dict[str, Record]
    writes: tuple[WriteEvidence, ...]
    """What the engine's DB wiring document says this capability writes."""
    success_codes: tuple[str, ...]
    event_types: tuple[tuple[str, Cited], ...]
    """The audit event types the engine's DB wiring document lists for its writes."""
    tool_path: bool
    """Whether the engine's wiring has a tool path (its queries run through it)."""
    last_resort: bool
    """Whether a handler may be proposed: once tool paths and lifecycles had their turn."""


def proposals(cap: Capability, scene: Scene) -> Iterator[BindingDraft]:
    """Every binding the evidence allows for the capability, the most specific first."""
    writes = cap.writes
    rules = _WRITE_RULES if writes else _READ_RULES
    for rule in rules:
        draft = rule(cap, scene)
        if draft is not None:
            yield draft


# --- reads ---


def _read_map(cap: Capability, scene: Scene) -> BindingDraft | None:
    output = _ok(cap.output.type) if cap.output is not None else None
    if not isinstance(output, MapRef) or cap.input_fields:
        return None
    key = _member_names(output.key)
    table = next((t for t in scene.owned if key and set(t.primary_key) == set(key)), None)
    if table is None:
        return None
    why = f"a map of {table.name}'s rows by its primary key"
    return entry(cap, Operation.READ_MAP, table, [names("order_by", table.primary_key)], why)


def _read_one(cap: Capability, scene: Scene) -> BindingDraft | None:
    output = _ok(cap.output.type) if cap.output is not None else None
    if isinstance(output, ListRef | MapRef):
        return None
    found = keyed_table(cap, list(scene.owned))
    if found is None:
        return None
    table, key = found
    which = "primary" if set(key) <= set(table.primary_key) else "unique"
    why = f"a read of {table.name}, which {scene.engine.engine_id} owns, by its {which} key"
    return entry(cap, Operation.READ_ONE, table, [names("lookup", key)], why)


def _read_many(cap: Capability, scene: Scene) -> BindingDraft | None:
    output = _ok(cap.output.type) if cap.output is not None else None
    if not isinstance(output, ListRef):
        return None
    table = _row_table(output.item, scene)
    if table is None:
        return None
    columns = {c.name for c in table.columns}
    lookup = [m.name for m in cap.input_fields if m.name in columns]
    keys = [names("lookup", lookup)] if lookup else []
    engine_id = scene.engine.engine_id
    if "engine" in columns and scene.owner(table.name) not in (None, engine_id):
        keys.append("- `engine_column`: `engine`")
    keys.append(names("order_by", (table.identity,) if table.identity else table.primary_key))
    by = f" by {', '.join(lookup)}" if lookup else ""
    return entry(cap, Operation.READ_MANY, table, keys, f"a list of {table.name}'s rows{by}")


def _row_table(item: TypeRef, scene: Scene) -> Table | None:
    """The table whose rows a listed type is: a record `row_of` one, among the tables the
    engine owns and the audit log."""
    if not isinstance(item, RecordRef):
        return None
    record = scene.records.get(item.name)
    candidates = [*scene.owned, *([scene.audit_log] if scene.audit_log else [])]
    if record is not None and record.row_of is not None:
        return next((t for t in candidates if t.name == record.row_of), None)
    return None


def _tool_query(cap: Capability, scene: Scene) -> BindingDraft | None:
    if not scene.tool_path or cap not in tool_queries(scene.engine):
        return None
    name = tool_name(cap, scene.engine)
    why = f"a query of {scene.engine.engine_id}, whose tool path runs it"
    return entry(cap, Operation.TOOL_QUERY, None, [f"- `tool_name`: `{name}`"], why)


# --- writes ---


def _transition(cap: Capability, scene: Scene) -> BindingDraft | None:
    """An action of a lifecycle of the engine's: its ledger's row, the state and action
    the step sets."""
    for lifecycle in scene.program.lifecycles:
        step = next((t for t in lifecycle.transitions if t.capability_id == cap.id), None)
        ledger = next((t for t in scene.owned if t.name == lifecycle.ledger), None)
        if step is None or ledger is None:
            continue
        inputs = {m.name for m in cap.input_fields}
        inputs |= {lifecycle.state_column, lifecycle.action_column, REASON_FIELD}
        fill = fill_from(ledger, inputs)
        if fill is None:
            return None
        keys = [f"- `fill`: `({', '.join(fill)})`"] if fill else []
        declares = []
        if cap.requires_audit:
            declares.append(event_type(_TRANSITION_EVENT, f"the actions of {lifecycle.name}"))
            keys.append(f"- `event_type`: `{_TRANSITION_EVENT}`")
        why = f"the {step.action} action of lifecycle {lifecycle.name}"
        return entry(cap, Operation.TRANSITION, ledger, keys, why, declares)
    return None


def _rebuild(cap: Capability, scene: Scene) -> BindingDraft | None:
    if "rebuild" not in words(f"{cap.id} {cap.name or ''}"):
        return None
    output = _ok(cap.output.type) if cap.output is not None else None
    nothing = output is None or isinstance(output, UnitRef) or output == TupleRef(output.span, ())
    if cap.input_fields or not nothing:
        return None
    projections = [t for t in scene.owned if t.projection_of is not None]
    if len(projections) != 1:
        return None
    table = projections[0]
    why = f"a rebuild of {table.name} from {table.projection_of}, as its name says"
    # A rebuild writes no audit row; said explicitly where the ECM text states no rule.
    keys = [] if cap.audit else [f"- `event_type`: `{NO_EVENT}`"]
    return entry(cap, Operation.REBUILD, table, keys, why)


def _audit_append(cap: Capability, scene: Scene) -> BindingDraft | None:
    log = scene.audit_log
    if log is None:
        return None
    written = {t for w in scene.writes for t in w.tables}
    others = [t for t in scene.owned if t.name != log.name]
    if log.name not in written and (others or log not in scene.owned):
        return None
    inputs = {m.name for m in cap.input_fields}
    pins = dict(p for w in scene.writes for p in w.pins)
    keys = [f"- `table`: `{log.name}`"]
    declares = [event_type(name, f"the event types {at} lists") for name, at in scene.event_types]
    if "event_type" not in inputs:
        name = pins.get("event_type") or named_event_type(cap) or action_name(cap, scene.engine)
        naming = next((w for w in scene.writes if "event_type" in dict(w.pins)), None)
        cited = f"{naming.at}" if naming is not None else "the capability's name"
        declares.append(event_type(name, f"the audit rows of {cap.id}, named from {cited}"))
        keys.append(f"- `event_type`: `{name}`")
    listed = {k.name for req in cap.audit for k in req.keys}
    payload = [f"{k}={v}" for k, v in pins.items() if k in listed and k not in inputs]
    if payload:
        keys.append(f"- `payload`: `({', '.join(payload)})`")
    source = f"{scene.writes[0].at}" if scene.writes else f"{scene.engine.engine_id} owning it"
    why = f"a write of the audit log {log.name} ({source})"
    return entry(cap, Operation.AUDIT_APPEND, None, keys, why, declares)


def _append(cap: Capability, scene: Scene) -> BindingDraft | None:
    ledgers = [
        t for t in scene.owned if t.truth_type is TruthType.LEDGER and t is not scene.audit_log
    ]
    return _row_write(cap, scene, Operation.APPEND, ledgers, "append")


def _upsert(cap: Capability, scene: Scene) -> BindingDraft | None:
    if not words(cap.id) & _UPSERT_WORDS:
        return None
    tables = [t for t in scene.owned if t.truth_type is not TruthType.LEDGER]
    return _row_write(cap, scene, Operation.UPSERT, tables, "upsert")


def _row_write(
    cap: Capability, scene: Scene, operation: Operation, tables: list[Table], verb: str
) -> BindingDraft | None:
    """A write of one row its input holds (save columns the clock or a digest fills), into
    the one candidate table, or the one the capability's name names."""
    inputs = {m.name for m in cap.input_fields}
    fitting = [(t, fill) for t in tables if (fill := fill_from(t, inputs)) is not None]
    if len(fitting) > 1:
        named = [(t, f) for t, f in fitting if words(t.name) <= words(cap.id)]
        fitting = named if len(named) == 1 else []
    if len(fitting) != 1:
        return None
    table, fill = fitting[0]
    keys = []
    if operation is Operation.UPSERT:
        lookup = _upsert_key(table, inputs)
        if lookup is None:
            return None
        keys.append(names("lookup", lookup))
    keys += [f"- `fill`: `({', '.join(fill)})`"] if fill else []
    why = f"a write whose input holds a row of {table.name}, which {scene.engine.engine_id} owns"
    audit, declares = _row_audit(cap, scene, table, verb)
    if not declares:
        why += "; its ECM text requires no audit event"
    return entry(cap, operation, table, keys + audit, why, declares)


def _row_audit(
    cap: Capability, scene: Scene, table: Table, verb: str
) -> tuple[list[str], list[Declaration]]:
    """A row write's audit: the event type its ECM text names (else one named after the
    table) and its success code, where the text requires audit; else `NONE`."""
    if not cap.requires_audit:
        return [f"- `event_type`: `{NO_EVENT}`"], []
    stated = named_event_type(cap)
    name = stated or f"{table.name.upper()}_{'APPENDED' if verb == 'append' else 'WRITTEN'}"
    said = (
        f"the audit rows {cap.id}'s ECM text names" if stated else f"a row written to {table.name}"
    )
    declares = [event_type(name, said)]
    keys = [f"- `event_type`: `{name}`"]
    if REASON_FIELD not in {m.name for m in cap.input_fields}:
        code, declared = _success_code(scene, verb)
        declares += declared
        keys.append(f"- `reason_code`: `{code}`")
    return keys, declares


def _upsert_key(table: Table, inputs: set[str]) -> tuple[str, ...] | None:
    """The key an upsert finds its row by: the primary key when the input holds it, else
    the one unique key it holds."""
    if set(table.primary_key) <= inputs and table.primary_key != (table.identity,):
        return table.primary_key
    held = [k.columns for k in table.unique_keys if set(k.columns) <= inputs]
    return held[0] if len(held) == 1 else None


def _success_code(scene: Scene, verb: str) -> tuple[str, list[Declaration]]:
    """The engine's one success code for the verb, else one drafted in its family's prefix
    (`ART_...` codes -> `ART_OK_APPEND`)."""
    found = [c for c in scene.success_codes if words(verb) <= words(c)]
    if len(found) == 1:
        return found[0], []
    codes = [c.code for c in scene.engine.reason_codes]
    prefix = common_prefix(codes) or scene.engine.engine_id.replace(".", "_").upper()
    code = f"{prefix}_OK_{verb.upper()}"
    said = f"- `{code}`: {INFERRED} from a {verb} that succeeded (no ECM code says so)"
    return code, [Declaration("Reason Codes", code, said)]


def _unaudited_handler(cap: Capability, scene: Scene) -> BindingDraft | None:
    if not scene.last_resort or cap.audit_asked:
        return None
    why = "a write whose ECM text requires no audit event; a handler does its work"
    return entry(cap, Operation.HANDLER, None, [f"- `event_type`: `{NO_EVENT}`"], why)


def _audited_handler(cap: Capability, scene: Scene) -> BindingDraft | None:
    """A write whose ECM text requires audit and whose work no operation does: a handler
    does it, and the runtime writes its audit row, of an event type named after it."""
    if not scene.last_resort or not cap.requires_audit:
        return None
    name = named_event_type(cap) or action_name(cap, scene.engine)
    declares = [event_type(name, f"the audit rows {cap.id}'s ECM text requires")]
    keys = [f"- `event_type`: `{name}`"]
    if REASON_FIELD not in {m.name for m in cap.input_fields}:
        code, declared = _success_code(scene, name.lower())
        declares += declared
        keys.append(f"- `reason_code`: `{code}`")
    why = "a write whose ECM text requires an audit row; a handler does its work"
    return entry(cap, Operation.HANDLER, None, keys, why, declares)


_READ_RULES = (_tool_query, _read_map, _read_one, _read_many)
_WRITE_RULES = (
    _transition,
    _rebuild,
    _audit_append,
    _append,
    _upsert,
    _unaudited_handler,
    _audited_handler,
)


def _ok(ref: TypeRef) -> TypeRef:
    while isinstance(ref, ResultRef | OptionRef):
        ref = ref.ok if isinstance(ref, ResultRef) else ref.item
    return ref


def _member_names(ref: TypeRef) -> tuple[str, ...]:
    members = getattr(ref, "members", None)
    return tuple(m.name for m in members) if members else ()
