"""What every write shares: rows made from inputs, statements built once, inserts that let the
database's unique keys tell a retry, idempotency claims, and the tenant rules.

Everything engine-specific comes from the generated tables' `info` (identity, tenant column,
idempotency keys) and from the capability's spec (fills, lookups).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from ecm_contract import IDEMPOTENCY_FIELD, AuditColumn, Role
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from ecm_runtime.canonical import digest
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext
from ecm_runtime.errors import ContractViolation, ScopeViolation
from ecm_runtime.facts import facts
from ecm_runtime.idempotency import OUTCOMES, Claim, Outcomes
from ecm_runtime.prepared import Prepared
from ecm_runtime.refusals import Refusals
from ecm_runtime.results import RowId, Written

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
        self.outcomes = Outcomes(OUTCOMES, self.insert)
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

    def check_tenant(
        self,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        table: sa.Table | None,
    ) -> None:
        """An input that names a tenant names the caller's."""
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

    def row(
        self, ctx: CallContext, spec: CapabilitySpec, values: Mapping[str, Any], table: sa.Table
    ) -> dict[str, Any]:
        """The table's row from a call's input: its own columns, fills, the caller's tenant."""
        row = {c.name: values[c.name] for c in table.columns if c.name in values}
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
        cursor = statement.execute(connection, row)
        try:
            # The identity is an integer column: the driver's value needs no processing.
            found = cursor.fetchone() if identity else None
            return (found[0] if found else None) if identity else (cursor.rowcount or None)
        finally:
            cursor.close()

    def replay_of(
        self, connection: Connection, table: sa.Table, row: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The row an idempotent retry repeats: same values on a complete idempotency key."""
        for key in facts(table).idempotency_keys:
            if all(row.get(column) is not None for column in key):
                condition = sa.and_(*(table.c[column] == row[column] for column in key))
                found = connection.execute(sa.select(table).where(condition)).mappings().first()
                if found is not None:
                    return dict(found)
        return None

    def original(
        self, connection: Connection, spec: CapabilitySpec, table: sa.Table, row: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """A write that inserted nothing: the caller's own earlier row, or a refusal. Another
        tenant's row under the same key is never revealed, not even its id."""
        original = self.replay_of(connection, table, row)
        if original is None:
            self.refusals.refuse(
                spec,
                Role.CONTRACT_VALIDATION,
                ContractViolation,
                f"{spec.id}: a row with the same unique key already exists in {table.name}",
            )
        tenant = facts(table).tenant_column
        if tenant and original.get(tenant) != row.get(tenant):
            self.refusals.refuse(
                spec,
                Role.SCOPE_VIOLATION,
                ScopeViolation,
                f"{spec.id}: the idempotency key is taken in another tenant",
            )
        return original

    def replayed(self, spec: CapabilitySpec, row_id: RowId) -> Written:
        return Written(row_id, True, self.refusals.code(spec, Role.IDEMPOTENCY_REPLAY))

    def claim(
        self,
        connection: Connection,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        now: int,
        table: sa.Table,
        row: Mapping[str, Any],
        key: Sequence[str],
    ) -> Claim | None:
        """Claim the call's idempotency key in the table's scope of the row (its declared
        idempotency key's columns, else the columns the write is keyed by); None: no key."""
        idempotency_key = values.get(IDEMPOTENCY_FIELD)
        if idempotency_key is None:
            return None
        declared = next(iter(facts(table).idempotency_keys), ())
        columns = [c for c in declared if c != IDEMPOTENCY_FIELD] or list(key)
        scope = [table.name, *(row.get(c) for c in columns)]
        return self.outcomes.claim(
            connection, spec.id, ctx.tenant_id, scope, str(idempotency_key), now
        )

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
        tenant = facts(table).tenant_column if guard_tenant else None
        where = table.c[tenant] == insert.excluded[tenant] if tenant else None
        if not changes:  # every column is the key: an unchanged row still answers
            changes = {key[0]: insert.excluded[key[0]]}
        return insert.on_conflict_do_update(index_elements=key, set_=changes, where=where)
