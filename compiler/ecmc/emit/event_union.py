"""The JSON Schema of an audit log's append input, as the runtime accepts it: one variant per
audit event type a writer may name, each with the payload keys that type allows (and its
engine and severity where the type fixes them). Without it the schema says `event_type` is
any string and `payload_min` any object, and a client generated from it cannot know.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecm_contract import AuditColumn, Operation

from ecmc.emit.imports import Imports
from ecmc.emit.layout import INDENT, Atom, Expr, Group, call, dict_of, prefixed, render
from ecmc.emit.literals import pyrepr
from ecmc.ir import AuditEventType, Program
from ecmc.typeref import RecordRef

JsonValue = str | bool | int | None | list["JsonValue"] | dict[str, "JsonValue"]


def audit_inputs(program: Program) -> dict[str, str]:
    """What an audit log's append capability takes (a record's name, or the capability's id
    when its input is its own) -> the engine whose capability it is."""
    appends = {b.capability_id for b in program.bindings if b.operation is Operation.AUDIT_APPEND}
    found: dict[str, str] = {}
    for engine in program.engines:
        for cap in engine.capabilities:
            if cap.id in appends:
                ref = cap.input.type if cap.input else None
                name = ref.name if isinstance(ref, RecordRef) else cap.id
                found.setdefault(name, engine.engine_id)
    return found


def schema_config(
    program: Program, engine_id: str, fields: frozenset[str], imports: Imports
) -> str | None:
    """The `model_config` line that states the union in the model's JSON Schema."""
    engines = tuple(e.engine_id for e in program.engines)
    union = event_union(program.audit_event_types, engines, engine_id, fields)
    if union is None:
        return None
    config = call(
        f"{imports.module('pydantic', 'pd')}.ConfigDict",
        prefixed("json_schema_extra=", json_literal(union)),
    )
    return render(prefixed("model_config = ", config), INDENT)


def event_union(
    event_types: Iterable[AuditEventType],
    engines: tuple[str, ...],
    engine_id: str,
    fields: frozenset[str],
) -> dict[str, JsonValue] | None:
    """`anyOf` the event types an append by `engine_id`'s capability with input `fields`
    may carry; None when the input names no event type (nothing to tell apart)."""
    if AuditColumn.EVENT_TYPE not in fields:
        return None
    declared = tuple(event_types)
    names_engine = AuditColumn.ENGINE in fields
    variants: list[JsonValue] = [
        _variant(t, fields, _engines_of(t, declared, engines) if names_engine else None)
        for t in declared
        if t.any_engine or names_engine or t.engine_id == engine_id
    ]
    return {"anyOf": variants} if variants else None


def _engines_of(
    event_type: AuditEventType, declared: tuple[AuditEventType, ...], engines: tuple[str, ...]
) -> list[JsonValue] | None:
    """The engines whose rows may carry the type, as the runtime finds it: its own engine; for
    a type declared for every engine, every engine but those declaring their own of its name
    (an engine's own declaration wins); None: every engine."""
    if not event_type.any_engine:
        return [event_type.engine_id]
    own = {t.engine_id for t in declared if t.name == event_type.name and not t.any_engine}
    return [e for e in engines if e not in own] if own else None


def _variant(
    event_type: AuditEventType, fields: frozenset[str], engines: list[JsonValue] | None
) -> dict[str, JsonValue]:
    properties: dict[str, JsonValue] = {AuditColumn.EVENT_TYPE: {"const": event_type.name}}
    if engines is not None:
        one = len(engines) == 1
        properties[AuditColumn.ENGINE] = {"const": engines[0]} if one else {"enum": engines}
    if AuditColumn.PAYLOAD in fields:
        properties[AuditColumn.PAYLOAD] = {
            "type": "object",
            "properties": {key: {} for key in event_type.payload_keys},
            "additionalProperties": False,
        }
    if AuditColumn.SEVERITY in fields and event_type.severity is not None:
        properties[AuditColumn.SEVERITY] = {"const": event_type.severity}
    owner = "any engine" if event_type.any_engine else event_type.engine_id
    return {"title": f"{event_type.name} ({owner})", "properties": properties}


def json_literal(value: JsonValue) -> Expr:
    """A JSON value as a Python literal laid out like any other group."""
    if isinstance(value, dict):
        if not value:
            return Atom("{}")
        return dict_of([(pyrepr(str(k)), json_literal(v)) for k, v in value.items()])
    if isinstance(value, list):
        return Group("", "[", tuple(json_literal(v) for v in value), "]") if value else Atom("[]")
    return Atom(pyrepr(value))
