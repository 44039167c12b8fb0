"""What every write shares: rows made from inputs, statements built once, inserts that let the
database's unique keys tell a retry (idempotency.py answers it), and the tenant rules.

Everything engine-specific comes from the generated tables' `info` (identity, tenant column,
idempotency keys) and from the capability's spec (fills, lookups).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from ecm_contract import REASON_FIELD, AuditColumn, Role
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from ecm_runtime.call import Call
from ecm_runtime.canonical import digest
from ecm_runtime.errors import ScopeViolation
from ecm_runtime.facts import facts
from ecm_runtime.guards import KEY_TAKEN
from ecm_runtime.prepared import Prepared
from ecm_runtime.refusals import Refusals

DIGEST = "DIGEST"
"""A `fill` source: the BLAKE3 digest of the call's canonical input."""


class Storage:
    def __init__(
        self,
        metadata: sa.MetaData,
        dialect: Dialect,
        refusals: Refusals,
        clock: Callable[[], int],
    ) -> None:
        self.tables = metadata.tables
        self.refusals = refusals
        self.clock = clock
        self.dialect = dialect
        self.insert: Callable[[sa.Table], Any] = (
            postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        )
        self._statements: dict[tuple[str, str, tuple[str, ...]], Any] = {}

    def statement(self, kind: str, table: sa.Table, keys: tuple[str, ...], build: Any) -> Any:
        """Statements are built once per table and column set; rows travel as parameters, so
        SQLAlchemy's compiled cache serves every later call."""
        cache_key = (kind, table.name, keys)
        statement = self._statements.get(cache_key)
        if statement is None:
            statement = self._statements[cache_key] = build()
        return statement

    # --- rows ---------------------------------------------------------------------------

    def check_tenant(self, call: Call, table: sa.Table | None) -> None:
        """An input that names a tenant names the caller's."""
        ctx, spec, values = call.ctx, call.spec, call.values
        columns: set[str] = {AuditColumn.TENANT_ID}
        tenant = facts(table).tenant_column if table is not None else None
        if tenant:
            columns.add(tenant)
        for column in columns:
            value = values.get(column)
            if value is not None and value != ctx.tenant_id:
                self.refusals.refuse(
                    spec,
                    Role.SCOPE_VIOLATION,
                    ScopeViolation,
                    f"{spec.id}: {column} {value!r} is outside the caller's tenant",
                )

    def row(self, call: Call, table: sa.Table) -> dict[str, Any]:
        """The table's row from a call's input: its own columns, fills, the caller's tenant."""
        ctx, spec, values = call.ctx, call.spec, call.values
        row = {c.name: values[c.name] for c in table.columns if c.name in values}
        if REASON_FIELD in table.c:
            self.refusals.check_declared(spec, spec.engine_id, values.get(REASON_FIELD))
        for column, source in spec.fill:
            row[column] = digest(values) if source == DIGEST else values.get(source)
        row.pop(facts(table).identity or "", None)
        tenant_column = facts(table).tenant_column
        if tenant_column and row.get(tenant_column) is None:
            if ctx.tenant_id is None and not table.c[tenant_column].nullable:
                self.refusals.refuse(
                    spec,
                    Role.SCOPE_VIOLATION,
                    ScopeViolation,
                    f"{spec.id}: a context without a tenant cannot write tenant rows of "
                    f"{table.name}",
                )
            row[tenant_column] = ctx.tenant_id
        return row

    # --- inserts and retries ------------------------------------------------------------

    def insert_new(self, connection: Connection, table: sa.Table, row: Mapping[str, Any]) -> Any:
        """Insert unless a unique key already holds the row; the new row's id, else None."""
        identity = facts(table).identity

        def build() -> Prepared:
            insert = self.insert(table).on_conflict_do_nothing()
            insert = insert.returning(table.c[identity]) if identity else insert
            return Prepared(insert, self.dialect, tuple(row))

        statement: Prepared = self.statement("insert_new", table, tuple(row), build)
        try:
            cursor = statement.execute(connection, row)
        except sa.exc.DBAPIError as error:
            if KEY_TAKEN in str(error.orig):  # SQLite's REPLACE guard: the key is taken
                return None
            raise
        try:
            # The identity is an integer column: the driver's value needs no processing.
            found = cursor.fetchone() if identity else None
            return (found[0] if found else None) if identity else (cursor.rowcount or None)
        finally:
            cursor.close()

    def upsert_statement(
        self,
        table: sa.Table,
        key: list[str],
        row: Mapping[str, Any],
        *,
        guard_tenant: bool = False,
    ) -> Any:
        """INSERT ... ON CONFLICT (key) DO UPDATE of the row's other columns. Guarded, the
        update happens only where the row already belongs to the writer's tenant: a key
        another tenant holds updates nothing and returns no row."""
        insert = self.insert(table)
        changes = {column: insert.excluded[column] for column in row if column not in key}
        if not changes:  # every column is the key: an unchanged row still answers
            changes = {key[0]: insert.excluded[key[0]]}
        tenant = facts(table).tenant_column
        where = table.c[tenant] == insert.excluded[tenant] if tenant and guard_tenant else None
        if tenant in key and row.get(tenant) is None and table.c[tenant].nullable:
            # A row of the system scope: its key is the one the system-scope companion index
            # holds (the tenant's own unique index takes every NULL tenant as distinct).
            return insert.on_conflict_do_update(
                index_elements=[c for c in key if c != tenant],
                index_where=table.c[tenant].is_(None),
                set_=changes,
            )
        return insert.on_conflict_do_update(index_elements=key, set_=changes, where=where)
