"""Capability bindings: what the runtime does for each capability, as a wiring spec states it.

An ECM spec says what a capability takes, returns and may touch; its wiring says how: which
operation on which table, looked up by which columns, with which audit event. The runtime
interprets these bindings and knows nothing about any particular engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import bullet_names, keyed, pin_list, value_text
from ecmc.frontend.syntax import Bullet, Entry, Text
from ecmc.ir import AuditEventType, Capability, CapabilityBinding, Engine, Record, Table
from ecmc.resolve.audit_events import find_event_type, severity_problem
from ecmc.resolve.shapes import map_key_fields, output_row, record_fields
from ecmc.resolve.types import TypeResolver
from ecmc.span import Span

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
READS = frozenset({"read_one", "read_many", "read_map"})


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
    if table is not None and not table.scope:
        diagnostics.report(
            "ECM066",
            _at(keys.get("table"), entry.name),
            f"{cap_id}: table {table.name} names no 'tenant_column' and is not declared "
            "'scope: GLOBAL': its rows would be every tenant's",
            "name the column that holds the tenant, or say `scope`: `GLOBAL` for rows every "
            "tenant shares",
        )
    if operation == "rebuild" and table is not None and table.projection_of is None:
        diagnostics.report(
            "ECM064",
            _at(keys.get("table"), entry.name),
            f"{cap_id}: rebuild needs a CURRENT table that is a 'projection_of' a ledger; "
            f"{table.name} is a plain state table",
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

    inputs = {m.name for m in capability.input_fields}
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
    # The runtime audits a data write when its binding names an event type (the explicit
    # key, not the ECM prose): such a write needs a reason code from its input or binding.
    emits = event_type is not None and operation in ("append", "upsert")
    if emits and reason_code is None and "reason_code" not in inputs:
        diagnostics.report(
            "ECM010",
            entry.name.span,
            f"{cap_id} writes an audit row, which needs a reason code: its input has no "
            "'reason_code', so its binding needs one",
        )
    _check_runnable(
        capability,
        operation,
        table,
        lookup,
        fill,
        records,
        _at(keys.get("operation"), entry.name),
        diagnostics,
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


def _check_runnable(
    capability: Capability,
    operation: str,
    table: Table | None,
    lookup: list[Text],
    fill: list[tuple[str, str]],
    records: Mapping[str, Record],
    at: Span,
    diagnostics: Diagnostics,
) -> None:
    """What the runtime needs at call time, checked now: lint accepts only what runs."""
    if table is None:
        return
    cap_id = capability.id
    inputs = {m.name for m in capability.input_fields}
    columns = {c.name for c in table.columns}
    for name in lookup:
        if name.text not in inputs:
            diagnostics.report(
                "ECM064", name.span, f"{cap_id}: lookup column {name.text!r} is not an input field"
            )
    output = capability.output.type if capability.output else None
    if operation in READS or operation == "transition":
        row = output_row(output, records)
        if row is None:
            shown = capability.output.text if capability.output else "(none)"
            diagnostics.report(
                "ECM064",
                at,
                f"{cap_id}: {operation} returns rows, but its output {shown!r} is no record",
            )
        elif operation in READS:
            record = records.get(row.name or "")
            fields = record_fields(record) if record is not None else row.members
            missing = [m.name for m in fields if not m.optional and m.name not in columns]
            if missing:
                diagnostics.report(
                    "ECM064",
                    at,
                    f"{cap_id}: its output record needs {', '.join(missing)}, which "
                    f"{table.name} does not have",
                )
    if operation == "read_map":
        key = map_key_fields(output, records)
        if not key or not set(key) <= columns:
            diagnostics.report(
                "ECM064",
                at,
                f"{cap_id}: read_map needs a Map<K, V> output keyed by columns of {table.name}",
            )
    if operation == "upsert":
        conflict_key = {n.text for n in lookup} or set(table.primary_key)
        unique = [set(table.primary_key), *(set(k.columns) for k in table.unique_keys)]
        if conflict_key not in unique:
            diagnostics.report(
                "ECM064",
                at,
                f"{cap_id}: an upsert is keyed by its lookup (else the primary key), which must "
                f"be the primary key or a unique key of {table.name}",
            )
    if operation in ("append", "upsert"):
        provided = inputs | {column for column, _ in fill}
        provided |= {c for c in (table.identity, table.tenant_column) if c is not None}
        missing = [c.name for c in table.columns if not c.nullable and c.name not in provided]
        if missing:
            diagnostics.report(
                "ECM064",
                at,
                f"{cap_id}: nothing provides {', '.join(missing)}, which {table.name} requires",
                "add the fields to the input, or `fill` the columns from other input fields",
            )
