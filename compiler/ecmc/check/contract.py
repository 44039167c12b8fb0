"""The runtime's contract, checked at compile time (ECM070), on the lowered catalog: the
bindings, tool paths and event types exactly as the runtime will read them.

The runtime reads and writes some names itself: the audit envelope on the audit log, and the
tool path's cache key, payload, expiry, status and failure fields (ecm_contract). A spec that
renames one gets a located error here, never a refusal at run time that blames the caller.
Where each name is declared (and the tables' columns, which the catalog does not carry) comes
from the program.
"""

from __future__ import annotations

from collections.abc import Mapping

from ecm_contract import AUDIT_REQUIRED, AuditColumn, Operation, ToolFields
from ecm_contract.catalog import Capability, Catalog, ToolPath

from ecmc import ir
from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.span import Span

_JSON_BASES = frozenset({"json", "object"})


def check_runtime_contract(program: ir.Program, catalog: Catalog, diagnostics: Diagnostics) -> None:
    tables = {t.name: t for t in program.tables}
    audit_logs = {
        c.table for c in catalog.capabilities if c.operation is Operation.AUDIT_APPEND and c.table
    }
    for name in sorted(audit_logs):
        if name in tables:
            _check_audit_log(tables[name], diagnostics)
    declared = {p.engine_id: p for p in program.tool_paths}
    for engine in catalog.engines:
        if engine.tool_path is not None and engine.engine_id in declared:
            where = declared[engine.engine_id]
            _ToolPathCheck(engine.tool_path, where, catalog, program, diagnostics).run()


def _check_audit_log(table: ir.Table, diagnostics: Diagnostics) -> None:
    columns = {c.name: c for c in table.columns}
    missing = [str(name) for name in AUDIT_REQUIRED if name not in columns]
    if missing:
        diagnostics.report(
            Code.RUNTIME_CONTRACT,
            table.span,
            f"audit log {table.name} lacks the audit envelope's {', '.join(missing)}",
            "the runtime writes every audit row with these columns (ecm_contract.AuditColumn)",
        )
    payload = columns.get(AuditColumn.PAYLOAD)
    if payload is not None and payload.type.base not in _JSON_BASES:
        diagnostics.report(
            Code.RUNTIME_CONTRACT,
            payload.span,
            f"audit log {table.name}: {payload.name} holds the event's payload and must be "
            f"object or json, not {payload.type.base}",
        )


class _ToolPathCheck:
    """Each capability of a tool path takes and keeps the names the runtime uses for it."""

    def __init__(
        self,
        path: ToolPath,
        declared: ir.ToolPath,
        catalog: Catalog,
        program: ir.Program,
        diagnostics: Diagnostics,
    ) -> None:
        self.path, self.names, self.catalog = path, path.fields, catalog
        self.capabilities: Mapping[str, Capability] = {c.id: c for c in catalog.capabilities}
        self.inputs = {c.id: c.input_fields for e in program.engines for c in e.capabilities}
        self.tables = {t.name: t for t in program.tables}
        self.title, self.spans = declared.span, dict(declared.declared)
        self.diagnostics = diagnostics

    def at(self, *fields: str) -> Span:
        """Where the wiring declares the first of these names; else the tool path's title."""
        return next((self.spans[f] for f in fields if f in self.spans), self.title)

    def report(self, message: str, *fields: str) -> None:
        self.diagnostics.report(Code.RUNTIME_CONTRACT, self.at(*fields), message)

    def run(self) -> None:
        names, path = self.names, self.path
        read = self.bound(path.cache_read, Operation.READ_ONE)
        write = self.bound(path.cache_write, Operation.UPSERT)
        if read is not None:
            self.check_cache_read(read)
        if write is not None:
            self.takes(write, "cache_write", "tool_name", "query_hash", "locale")
            self.takes(write, "cache_write", "payload", "expiry")
        # A failed query's row need not hold its hash: a retry matches it by tool name alone.
        commits = (
            (path.ok_commit, "ok_commit", ("tool_name", "query_hash", "status")),
            (path.fail_commit, "fail_commit", ("tool_name", "status", "fail_code")),
        )
        for capability_id, role, fields in commits:
            commit = self.bound(capability_id, Operation.AUDIT_APPEND)
            if commit is not None:
                self.takes(commit, role, *fields)
                self.recorded(commit, names.tool_name, "tool_name")

    def bound(self, capability_id: str, operation: Operation) -> Capability | None:
        capability = self.capabilities.get(capability_id)
        if capability is None:
            return None  # an unknown capability is the wiring's error, reported there
        if capability.operation is not operation:
            self.report(
                f"tool path: {capability_id} must be bound to '{operation}', the operation "
                "the runtime's tool path calls it for"
            )
            return None
        return capability

    def check_cache_read(self, read: Capability) -> None:
        names = self.names
        key = {names.tool_name, names.query_hash, names.locale}
        if set(read.lookup) != key:
            self.report(
                f"tool path: cache_read {read.id} must look up by "
                f"({names.tool_name}, {names.query_hash}, {names.locale}), the cache key the "
                f"runtime computes; its lookup is ({', '.join(read.lookup)})",
                "tool_name",
                "query_hash",
                "locale",
            )
        table = self.tables.get(read.table or "")
        if table is not None:
            self.check_cache_table(table)

    def check_cache_table(self, table: ir.Table) -> None:
        names = self.names
        columns = {c.name: c for c in table.columns}
        for field in ("payload", "expiry"):
            name = getattr(names, field)
            if name not in columns:
                self.report(
                    f"tool path: cache table {table.name} has no column {name!r}, where the "
                    f"runtime keeps the cached answer's {field}",
                    field,
                )
        payload = columns.get(names.payload)
        if payload is not None and payload.type.base not in _JSON_BASES:
            self.report(
                f"tool path: {table.name}.{payload.name} holds a provider's answer and must be "
                f"object or json, not {payload.type.base}",
                "payload",
            )
        if table.ttl_column is not None and table.ttl_column != names.expiry:
            self.report(
                f"tool path: {table.name} expires rows by {table.ttl_column}, but the runtime "
                f"writes the expiry to {names.expiry!r}",
                "expiry",
            )

    def takes(self, capability: Capability, role: str, *fields: str) -> None:
        inputs = {m.name for m in self.inputs.get(capability.id, ())}
        names: ToolFields = self.names
        missing = [getattr(names, f) for f in fields if getattr(names, f) not in inputs]
        if missing:
            self.report(
                f"tool path: {role} {capability.id} has no input field "
                f"{', '.join(repr(m) for m in missing)}, which the runtime fills",
                *fields,
            )

    def recorded(self, capability: Capability, name: str, field: str) -> None:
        """The ok and fail rows record the tool's name: a retry is matched against it."""
        event_type = self.catalog.event_type(capability.engine_id, capability.event_type or "")
        if event_type is not None and name not in event_type.payload_keys:
            self.report(
                f"tool path: audit event type {event_type.name} must allow payload key "
                f"{name!r}: a retried tool query is matched against it",
                field,
            )
