"""Capability bindings: what the runtime does for each capability, as a wiring spec states it.

An ECM spec says what a capability takes, returns and may touch; its wiring says how: which
operation on which table, looked up by which columns, with which audit event. The runtime
interprets these bindings and knows nothing about any particular engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ecm_contract import REASON_FIELD, Operation

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import bullet_names, keyed, pin_list, value_text
from ecmc.frontend.syntax import Bullet, Entry, Text
from ecmc.ir import (
    AuditEventType,
    Capability,
    CapabilityBinding,
    Engine,
    Record,
    Table,
)
from ecmc.resolve.audit_events import (
    find_event_type,
    keys_refused,
    own_types_declared,
    severity_problem,
)
from ecmc.resolve.dictionary import report_unconfirmed
from ecmc.resolve.runnable import RunnableCheck
from ecmc.resolve.types import TypeResolver
from ecmc.resolve.wiring import tool_name
from ecmc.span import Span

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
NO_EVENT = "NONE"
"""`event_type`: `NONE`: the write emits no audit row, said explicitly (a decision someone
answers for in review, as `ecmc init` drafts it for writes whose ECM text states no audit)."""
DIGEST = "DIGEST"
"""A `fill` source: the BLAKE3 digest of the call's canonical input."""
_OPERATIONS = ", ".join(sorted(Operation))


@dataclass(frozen=True)
class WiringContext:
    """What every binding of a program is resolved against."""

    engines: Mapping[str, Engine]
    tables: Mapping[str, Table]
    records: Mapping[str, Record]
    resolver: TypeResolver
    declared_codes: set[str]
    event_types: tuple[AuditEventType, ...]
    diagnostics: Diagnostics


def resolve_binding(
    engine_id: str, entry: Entry, context: WiringContext
) -> CapabilityBinding | None:
    cap_id = entry.name.text
    diagnostics = context.diagnostics
    keys = keyed(entry.keys, BINDING_KEYS, f"binding of {cap_id}", diagnostics)
    engine = context.engines.get(engine_id)
    capability = next((c for c in engine.capabilities if c.id == cap_id), None) if engine else None
    if capability is None:
        diagnostics.report(
            Code.UNKNOWN_CAPABILITY,
            entry.name.span,
            f"binding for {cap_id}, which engine {engine_id} does not declare",
        )
        return None
    operation = _operation(capability, keys, entry, diagnostics)
    if operation is None:
        return None
    return _Binding(engine_id, capability, operation, keys, entry, context).resolve()


def _operation(
    capability: Capability, keys: Mapping[str, Bullet], entry: Entry, diagnostics: Diagnostics
) -> Operation | None:
    """The binding's operation, which must write exactly when the spec declares writes."""
    text = value_text(keys.get("operation"))
    at = _at(keys.get("operation"), entry.name)
    if text not in set(Operation):
        diagnostics.report(
            Code.BAD_BINDING,
            at,
            f"{capability.id}: operation {text or '(missing)'!r} is not one of {_OPERATIONS}",
        )
        return None
    operation = Operation(text)
    declared_writes = capability.writes
    if operation is not Operation.HANDLER and operation.writes != declared_writes:
        diagnostics.report(
            Code.BAD_BINDING,
            at,
            f"{capability.id}: operation {operation} "
            f"{'writes' if operation.writes else 'only reads'}, but the spec declares "
            f"side_effects {capability.side_effects.kind if capability.side_effects else '(none)'}",
        )
    return operation


class _Binding:
    """One binding being resolved: each method reads and checks one group of keys."""

    def __init__(
        self,
        engine_id: str,
        capability: Capability,
        operation: Operation,
        keys: Mapping[str, Bullet],
        entry: Entry,
        context: WiringContext,
    ) -> None:
        self.engine_id, self.capability, self.operation = engine_id, capability, operation
        self.keys, self.entry, self.context = keys, entry, context
        self.diagnostics = context.diagnostics
        self.cap_id = capability.id
        self.inputs = {m.name for m in capability.input_fields}
        self.table_name = value_text(keys.get("table")) or None
        self.table = context.tables.get(self.table_name or "")
        self.columns = {c.name for c in self.table.columns} if self.table else set()

    def at(self, key: str) -> Span:
        return _at(self.keys.get(key), self.entry.name)

    def resolve(self) -> CapabilityBinding:
        report_unconfirmed(
            value_text(self.keys.get("description")),
            self.entry.name.span,
            f"binding of {self.cap_id}",
            self.diagnostics,
        )
        self.check_table()
        lookup = self.column_names("lookup")
        order_by = self.column_names("order_by")
        engine_column = self.column_names("engine_column")
        fill = self.fill()
        cursor = self.cursor()
        self.check_limit()
        event_type, declared_type = self.event_type()
        severity = self.severity()
        reason_code = self.reason_code(event_type)
        if self.table is not None:
            RunnableCheck(
                self.capability,
                self.operation,
                self.table,
                self.context.records,
                self.at("operation"),
                self.diagnostics,
            ).check(lookup, fill)
        return CapabilityBinding(
            capability_id=self.cap_id,
            operation=self.operation,
            table=self.table_name,
            lookup=tuple(n.text for n in lookup),
            order_by=tuple(n.text for n in order_by),
            fill=tuple(fill),
            event_type=event_type,
            payload=tuple(self.payload(declared_type)),
            reason_code=reason_code,
            engine_column=engine_column[0].text if engine_column else None,
            cursor=tuple(cursor),
            limit=value_text(self.keys.get("limit")) or None,
            tool_name=tool_name(
                self.operation, self.keys.get("tool_name"), self.entry.name, self.diagnostics
            ),
            severity=severity or (declared_type.severity if declared_type else None),
            span=self.entry.name.span,
            unaudited=value_text(self.keys.get("event_type")) == NO_EVENT,
        )

    def check_table(self) -> None:
        """The table exists, has the truth type the operation acts on, and states its scope."""
        table, operation, at = self.table, self.operation, self.at("table")
        truth_types = operation.truth_types
        if truth_types and table is None:
            self.diagnostics.report(
                Code.UNDEFINED_TABLE,
                at,
                f"{self.cap_id}: operation {operation} needs a defined 'table'"
                + (f"; {self.table_name!r} is not defined" if self.table_name else ""),
            )
        elif self.table_name is not None and not truth_types:
            self.diagnostics.report(
                Code.BAD_BINDING,
                at,
                f"{self.cap_id}: {operation} acts on no table; drop 'table' (a handler writes "
                "through the connection it is given)",
            )
        elif table is not None and table.truth_type not in truth_types:
            self.diagnostics.report(
                Code.BAD_BINDING,
                at,
                f"{self.cap_id}: {operation} acts on {', '.join(sorted(truth_types))} tables; "
                f"{table.name} is {table.truth_type}",
            )
        if table is not None and not table.scope:
            self.diagnostics.report(
                Code.UNSCOPED_TABLE,
                at,
                f"{self.cap_id}: table {table.name} names no 'tenant_column' and is not "
                "declared 'scope: GLOBAL': its rows would be every tenant's",
                "name the column that holds the tenant, or say `scope`: `GLOBAL` for rows "
                "every tenant shares",
            )
        if operation is Operation.REBUILD and table is not None and table.projection_of is None:
            self.diagnostics.report(
                Code.BAD_BINDING,
                at,
                f"{self.cap_id}: rebuild needs a CURRENT table that is a 'projection_of' a "
                f"ledger; {table.name} is a plain state table",
            )

    def column_names(self, key: str) -> list[Text]:
        names = bullet_names(self.keys.get(key), self.diagnostics)
        for name in names:
            if self.table is not None and name.text not in self.columns:
                self.diagnostics.report(
                    Code.UNKNOWN_COLUMN,
                    name.span,
                    f"{self.cap_id}: {key} names unknown column {name.text!r}",
                )
        return names

    def fill(self) -> list[tuple[str, str]]:
        fill: list[tuple[str, str]] = []
        for column, source, span in pin_list(self.keys.get("fill"), self.diagnostics):
            if self.table is not None and column not in self.columns:
                self.diagnostics.report(
                    Code.UNKNOWN_COLUMN,
                    span,
                    f"{self.cap_id}: fill names unknown column {column!r}",
                )
            elif source not in self.inputs and source != DIGEST:
                self.diagnostics.report(
                    Code.BAD_BINDING,
                    span,
                    f"{self.cap_id}: fill takes {source!r}, which is not an input field",
                )
            else:
                fill.append((column, source))
        return fill

    def cursor(self) -> list[tuple[str, str]]:
        cursor = pin_list(self.keys.get("cursor"), self.diagnostics)
        for column, source, span in cursor:
            if (self.table is not None and column not in self.columns) or (
                source not in self.inputs
            ):
                self.diagnostics.report(
                    Code.BAD_BINDING,
                    span,
                    f"{self.cap_id}: cursor must pair a column with an input field",
                )
        return [(column, source) for column, source, _ in cursor]

    def check_limit(self) -> None:
        limit = value_text(self.keys.get("limit")) or None
        if limit is not None and limit not in self.inputs:
            self.diagnostics.report(
                Code.BAD_BINDING,
                self.at("limit"),
                f"{self.cap_id}: limit takes {limit!r}, which is not an input field",
            )

    def event_type(self) -> tuple[str | None, AuditEventType | None]:
        """The event type of the capability's audit rows, declared for its engine; required
        of a write whose spec requires audit (unless its input names its own type)."""
        event_type = value_text(self.keys.get("event_type")) or None
        if event_type == NO_EVENT:
            return None, None
        capability, operation = self.capability, self.operation
        audited = operation.audited and capability.requires_audit
        if operation is Operation.HANDLER:
            audited = audited and capability.writes
        names_own_type = operation is Operation.AUDIT_APPEND and "event_type" in self.inputs
        if audited and event_type is None and not names_own_type:
            self.diagnostics.report(
                Code.MISSING_KEY,
                self.entry.name.span,
                f"{self.cap_id} writes and must emit an audit event: its binding needs "
                "'event_type'",
            )
        if names_own_type and event_type is None:
            own_types_declared(
                self.context.event_types,
                self.engine_id,
                self.cap_id,
                self.entry.name.span,
                self.diagnostics,
            )
        if event_type is None:
            return None, None
        declared = find_event_type(self.context.event_types, self.engine_id, event_type)
        if declared is None:
            self.diagnostics.report(
                Code.BAD_AUDIT_EVENT_TYPE,
                self.at("event_type"),
                f"{self.cap_id}: audit event type {event_type!r} is not declared for "
                f"{self.engine_id}",
                "declare it under '## Audit Event Types' in the engine's wiring",
            )
        refused = keys_refused(self.capability, declared) if declared else ""
        if refused and self.operation is not Operation.AUDIT_APPEND:
            self.diagnostics.report(Code.BAD_AUDIT_EVENT_TYPE, self.at("event_type"), refused)
        return event_type, declared

    def severity(self) -> str | None:
        severity = value_text(self.keys.get("severity")) or None
        if severity is not None and (problem := severity_problem(severity)):
            self.diagnostics.report(Code.BAD_AUDIT_EVENT_TYPE, self.at("severity"), problem)
            return None
        return severity

    def payload(self, declared_type: AuditEventType | None) -> list[tuple[str, str]]:
        """Payload keys fixed for every audit row: keys the event type (else the spec)
        allows, and known fields."""
        listed = {key.name for req in self.capability.audit for key in req.keys}
        if declared_type is not None:
            listed = set(declared_type.payload_keys)
        payload: list[tuple[str, str]] = []
        for key, value, span in pin_list(self.keys.get("payload"), self.diagnostics):
            if declared_type is not None and key not in listed:
                problem = (
                    f"payload key {key!r} is not among the keys audit event type "
                    f"{declared_type.name} allows"
                )
            elif listed and key not in listed:
                problem = (
                    f"payload key {key!r} is not among the audit keys {self.cap_id}'s spec lists"
                )
            elif self.context.resolver.dictionary.lookup(key) is None:
                problem = f"payload key {key!r} is not a known field"
            else:
                payload.append((key, value))
                continue
            self.diagnostics.report(Code.UNKNOWN_AUDIT_KEY, span, problem)
        return payload

    def reason_code(self, event_type: str | None) -> str | None:
        reason_code = value_text(self.keys.get("reason_code")) or None
        if reason_code is not None and reason_code not in self.context.declared_codes:
            self.diagnostics.report(
                Code.UNDECLARED_REASON_CODE,
                self.at("reason_code"),
                f"reason code {reason_code} is referenced but no spec declares it",
            )
        # The runtime audits a data write when its binding names an event type (the explicit
        # key, not the ECM prose): such a write needs a reason code from its input or binding.
        emits = event_type is not None and self.operation in (
            Operation.APPEND,
            Operation.UPSERT,
            Operation.HANDLER,
        )
        if emits and reason_code is None and REASON_FIELD not in self.inputs:
            self.diagnostics.report(
                Code.MISSING_KEY,
                self.entry.name.span,
                f"{self.cap_id} writes an audit row, which needs a reason code: its input has "
                "no 'reason_code', so its binding needs one",
            )
        return reason_code


def _at(bullet: Bullet | None, fallback: Text) -> Span:
    if bullet is not None and bullet.value is not None:
        return bullet.value.span
    return bullet.span if bullet is not None else fallback.span
