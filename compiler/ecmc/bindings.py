"""Capability bindings: what the runtime does for each capability, as a wiring spec states it.

An ECM spec says what a capability takes, returns and may touch; its wiring says how: which
operation on which table, looked up by which columns, with which audit event. The runtime
interprets these bindings and knows nothing about any particular engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ecmc.audit_events import find_event_type, severity_problem
from ecmc.diagnostics import Diagnostics
from ecmc.ir import AuditEventType, Capability, CapabilityBinding, Engine, Record, Table
from ecmc.keys import bullet_names, keyed, pin_list, value_text
from ecmc.span import Span
from ecmc.syntax import Bullet, Entry, Text
from ecmc.types import TypeResolver

# operation -> (writes?, truth types of the table it may act on; empty: no table)
OPERATIONS: Mapping[str, tuple[bool, frozenset[str]]] = {
    "audit_append": (True, frozenset({"LEDGER"})),
    "append": (True, frozenset({"LEDGER"})),
    "upsert": (True, frozenset({"CACHE", "CURRENT"})),
    "transition": (True, frozenset({"LEDGER"})),
    "rebuild": (True, frozenset({"CURRENT"})),
    "read_one": (False, frozenset({"LEDGER", "CURRENT", "CACHE"})),
    "read_many": (False, frozenset({"LEDGER", "CURRENT", "CACHE"})),
    "read_map": (False, frozenset({"LEDGER", "CURRENT", "CACHE"})),
    "tool_query": (False, frozenset()),
}
BINDING_KEYS = frozenset(
    {
        "operation",
        "table",
        "lookup",
        "fill",
        "order_by",
        "event_type",
        "payload",
        "reason_code",
        "engine_column",
        "cursor",
        "limit",
        "tool_name",
        "severity",
        "description",
    }
)
TOOL_NAME = re.compile(r"[a-z][a-z0-9_]*")
DIGEST = "DIGEST"
"""A `fill` source: the BLAKE3 digest of the call's canonical input."""
_AUDITED = frozenset({"audit_append", "append", "upsert", "transition"})


def resolve_binding(
    engine_id: str,
    entry: Entry,
    engines: Mapping[str, Engine],
    tables: Mapping[str, Table],
    records: Mapping[str, Record],
    resolver: TypeResolver,
    declared_codes: set[str],
    event_types: tuple[AuditEventType, ...],
    diagnostics: Diagnostics,
) -> CapabilityBinding | None:
    cap_id = entry.name.text
    keys = keyed(entry.keys, BINDING_KEYS, f"binding of {cap_id}", diagnostics)
    engine = engines.get(engine_id)
    capability = next((c for c in engine.capabilities if c.id == cap_id), None) if engine else None
    if capability is None:
        diagnostics.report(
            "ECM063",
            entry.name.span,
            f"binding for {cap_id}, which engine {engine_id} does not declare",
        )
        return None
    operation = value_text(keys.get("operation"))
    if operation not in OPERATIONS:
        diagnostics.report(
            "ECM064",
            _at(keys.get("operation"), entry.name),
            f"{cap_id}: operation {operation or '(missing)'!r} is not one of "
            f"{', '.join(sorted(OPERATIONS))}",
        )
        return None
    writes, truth_types = OPERATIONS[operation]
    declared_writes = capability.side_effects is not None and capability.side_effects.writes
    if writes != declared_writes:
        diagnostics.report(
            "ECM064",
            _at(keys.get("operation"), entry.name),
            f"{cap_id}: operation {operation} {'writes' if writes else 'only reads'}, but the "
            f"spec declares side_effects "
            f"{capability.side_effects.kind if capability.side_effects else '(none)'}",
        )

    table_name = value_text(keys.get("table")) or None
    table = tables.get(table_name or "")
    if truth_types and table is None:
        diagnostics.report(
            "ECM054",
            _at(keys.get("table"), entry.name),
            f"{cap_id}: operation {operation} needs a defined 'table'"
            + (f"; {table_name!r} is not defined" if table_name else ""),
        )
    elif table is not None and table.truth_type not in truth_types:
        diagnostics.report(
            "ECM064",
            _at(keys.get("table"), entry.name),
            f"{cap_id}: {operation} acts on {', '.join(sorted(truth_types))} tables; "
            f"{table.name} is {table.truth_type}",
        )
    columns = {c.name for c in table.columns} if table else set()

    lookup = bullet_names(keys.get("lookup"), diagnostics)
    for name in lookup:
        if table is not None and name.text not in columns:
            diagnostics.report(
                "ECM054", name.span, f"{cap_id}: lookup names unknown column {name.text!r}"
            )
    order_by = bullet_names(keys.get("order_by"), diagnostics)
    for name in order_by:
        if table is not None and name.text not in columns:
            diagnostics.report(
                "ECM054", name.span, f"{cap_id}: order_by names unknown column {name.text!r}"
            )

    inputs = _input_fields(capability, records)
    fill: list[tuple[str, str]] = []
    for column, source, span in pin_list(keys.get("fill"), diagnostics):
        if table is not None and column not in columns:
            diagnostics.report("ECM054", span, f"{cap_id}: fill names unknown column {column!r}")
        elif source not in inputs and source != DIGEST:
            diagnostics.report(
                "ECM064", span, f"{cap_id}: fill takes {source!r}, which is not an input field"
            )
        else:
            fill.append((column, source))

    engine_column = bullet_names(keys.get("engine_column"), diagnostics)
    cursor = pin_list(keys.get("cursor"), diagnostics)
    limit = value_text(keys.get("limit")) or None
    for name in engine_column:
        if table is not None and name.text not in columns:
            diagnostics.report(
                "ECM054", name.span, f"{cap_id}: engine_column names unknown column {name.text!r}"
            )
    for column, source, span in cursor:
        if (table is not None and column not in columns) or source not in inputs:
            diagnostics.report(
                "ECM064", span, f"{cap_id}: cursor must pair a column with an input field"
            )
    if limit is not None and limit not in inputs:
        diagnostics.report(
            "ECM064",
            _at(keys.get("limit"), entry.name),
            f"{cap_id}: limit takes {limit!r}, which is not an input field",
        )

    event_type = value_text(keys.get("event_type")) or None
    audited = operation in _AUDITED and any(r.mode == "required" for r in capability.audit)
    # An audit_append whose input names its own event type needs no default.
    names_own_type = operation == "audit_append" and "event_type" in inputs
    if audited and event_type is None and not names_own_type:
        diagnostics.report(
            "ECM010",
            entry.name.span,
            f"{cap_id} writes and must emit an audit event: its binding needs 'event_type'",
        )
    declared_type = None
    if event_type is not None:
        declared_type = find_event_type(event_types, engine_id, event_type)
        if declared_type is None:
            diagnostics.report(
                "ECM065",
                _at(keys.get("event_type"), entry.name),
                f"{cap_id}: audit event type {event_type!r} is not declared for {engine_id}",
                "declare it under '## Audit Event Types' in the engine's wiring",
            )
    severity = value_text(keys.get("severity")) or None
    if severity is not None and (problem := severity_problem(severity)):
        diagnostics.report("ECM065", _at(keys.get("severity"), entry.name), problem)
        severity = None
    listed = {key.name for req in capability.audit for key in req.keys}
    if declared_type is not None:
        listed = set(declared_type.payload_keys)
    payload: list[tuple[str, str]] = []
    for key, value, span in pin_list(keys.get("payload"), diagnostics):
        if declared_type is not None and key not in listed:
            diagnostics.report(
                "ECM034",
                span,
                f"payload key {key!r} is not among the keys audit event type "
                f"{declared_type.name} allows",
            )
            continue
        if listed and key not in listed:
            diagnostics.report(
                "ECM034",
                span,
                f"payload key {key!r} is not among the audit keys {cap_id}'s spec lists",
            )
            continue
        if resolver.dictionary.lookup(key) is None:
            diagnostics.report("ECM034", span, f"payload key {key!r} is not a known field")
            continue
        payload.append((key, value))

    reason_code = value_text(keys.get("reason_code")) or None
    if reason_code is not None and reason_code not in declared_codes:
        diagnostics.report(
            "ECM036",
            _at(keys.get("reason_code"), entry.name),
            f"reason code {reason_code} is referenced but no spec declares it",
        )
    return CapabilityBinding(
        capability_id=cap_id,
        operation=operation,
        table=table_name,
        lookup=tuple(n.text for n in lookup),
        order_by=tuple(n.text for n in order_by),
        fill=tuple(fill),
        event_type=event_type,
        payload=tuple(payload),
        reason_code=reason_code,
        engine_column=engine_column[0].text if engine_column else None,
        cursor=tuple((column, source) for column, source, _ in cursor),
        limit=limit,
        tool_name=_tool_name(operation, keys.get("tool_name"), entry.name, diagnostics),
        severity=severity or (declared_type.severity if declared_type else None),
        span=entry.name.span,
    )


def _at(bullet: Bullet | None, fallback: Text) -> Span:
    if bullet is not None and bullet.value is not None:
        return bullet.value.span
    return bullet.span if bullet is not None else fallback.span


def _tool_name(
    operation: str, bullet: Bullet | None, heading: Text, diagnostics: Diagnostics
) -> str | None:
    name = value_text(bullet) or None
    if operation == "tool_query" and (name is None or not TOOL_NAME.fullmatch(name)):
        diagnostics.report(
            "ECM064",
            _at(bullet, heading),
            f"{heading.text}: a tool_query needs a snake_case 'tool_name'",
        )
    return name


def _input_fields(capability: Capability, records: Mapping[str, Record]) -> set[str]:
    """The field names a call's input carries, whatever shape the spec gives it."""
    ref = capability.input.type if capability.input else None
    if ref is None:
        return set()
    if ref.kind == "record" and ref.name is not None and ref.name in records:
        record = records[ref.name]
        variants = [v for v in record.variants if v.name == ref.variant]
        members = variants[0].members if variants else record.members
        return {m.name for m in members}
    if ref.kind == "scalar" and ref.name:
        return {ref.name}
    if ref.kind == "option" and ref.args and ref.args[0].name:
        return {ref.args[0].name}
    return {m.name for m in ref.members if m.name}
