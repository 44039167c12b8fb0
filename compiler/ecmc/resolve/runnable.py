"""What the runtime needs of a bound capability at call time, checked at compile time: lint
accepts only what runs (ECM064)."""

from __future__ import annotations

from collections.abc import Mapping

from ecm_contract import Operation, upsert_key

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Text
from ecmc.ir import Capability, Record, Table
from ecmc.resolve.shapes import map_key_fields, output_row, record_fields
from ecmc.span import Span
from ecmc.typeref import RecordRef


class RunnableCheck:
    """What the runtime needs at call time, checked now: lint accepts only what runs."""

    def __init__(
        self,
        capability: Capability,
        operation: Operation,
        table: Table,
        records: Mapping[str, Record],
        at: Span,
        diagnostics: Diagnostics,
    ) -> None:
        self.capability, self.operation, self.table = capability, operation, table
        self.records, self.at, self.diagnostics = records, at, diagnostics
        self.output = capability.output.type if capability.output else None
        self.inputs = {m.name for m in capability.input_fields}
        self.columns = {c.name for c in table.columns}

    def report(self, message: str, *notes: str) -> None:
        self.diagnostics.report(Code.BAD_BINDING, self.at, message, *notes)

    def check(self, lookup: list[Text], fill: list[tuple[str, str]]) -> None:
        cap_id, operation = self.capability.id, self.operation
        for name in lookup:
            if name.text not in self.inputs:
                self.diagnostics.report(
                    Code.BAD_BINDING,
                    name.span,
                    f"{cap_id}: lookup column {name.text!r} is not an input field",
                )
        if operation.reads or operation is Operation.TRANSITION:
            self.check_rows()
        if operation is Operation.READ_MAP:
            key = map_key_fields(self.output, self.records)
            if not key or not set(key) <= self.columns:
                self.report(
                    f"{cap_id}: read_map needs a Map<K, V> output keyed by columns of "
                    f"{self.table.name}"
                )
        if operation is Operation.UPSERT:
            self.check_upsert_key(lookup)
        if operation in (Operation.APPEND, Operation.UPSERT):
            self.check_complete(fill)

    def check_rows(self) -> None:
        """A read or a lifecycle action returns a record; a read's, the table can fill."""
        capability = self.capability
        row = output_row(self.output, self.records)
        if row is None:
            shown = capability.output.text if capability.output else "(none)"
            self.report(
                f"{capability.id}: {self.operation} returns rows, but its output {shown!r} "
                "is no record"
            )
            return
        if not self.operation.reads:
            return
        if isinstance(row, RecordRef):
            fields = record_fields(self.records[row.name], row.variant)
        else:
            fields = row.members
        columns = self.columns
        missing = [m.name for m in fields if not m.optional and m.name not in columns]
        if missing:
            self.report(
                f"{capability.id}: its output record needs {', '.join(missing)}, which "
                f"{self.table.name} does not have"
            )

    def check_upsert_key(self, lookup: list[Text]) -> None:
        table = self.table
        names = tuple(n.text for n in lookup)
        conflict_key = set(upsert_key(names, table.primary_key, table.tenant_column))
        unique = [set(table.primary_key), *(set(k.columns) for k in table.unique_keys)]
        if conflict_key not in unique:
            self.report(
                f"{self.capability.id}: an upsert is keyed by its lookup (else the primary "
                "key) and the table's tenant column, which must be the primary key or a "
                f"unique key of {table.name}"
            )

    def check_complete(self, fill: list[tuple[str, str]]) -> None:
        """A write provides every NOT NULL column the database does not (its identity, a
        column's DEFAULT) or the runtime (the tenant column)."""
        table = self.table
        provided = self.inputs | {column for column, _ in fill}
        provided |= {c for c in (table.identity, table.tenant_column) if c is not None}
        provided |= {c.name for c in table.columns if c.default is not None}
        missing = [c.name for c in table.columns if not c.nullable and c.name not in provided]
        if missing:
            self.report(
                f"{self.capability.id}: nothing provides {', '.join(missing)}, which "
                f"{table.name} requires",
                "add the fields to the input, or `fill` the columns from other input fields",
            )
