"""What every write shares: rows made from inputs, statements built once, inserts that let the
database's unique keys tell a retry, idempotency claims, and the tenant rules.

Everything engine-specific comes from the generated tables' `info` (identity, tenant column,
idempotency keys) and from the capability's spec (fills, lookups).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import sqlalchemy as sa
from ecm_contract import IDEMPOTENCY_FIELD, REASON_FIELD, AuditColumn, Role
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from ecm_runtime.canonical import digest
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext
from ecm_runtime.errors import ContractViolation, IdempotencyConflict, ScopeViolation
from ecm_runtime.facts import facts
from ecm_runtime.guards import KEY_TAKEN
from ecm_runtime.idempotency import OUTCOMES, Claim, ClaimState, KeyedCall, Outcomes
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

    def replay_of(
        self, connection: Connection, table: sa.Table, row: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The row an idempotent retry repeats: same values on a complete idempotency key (a
        row of no tenant is the system scope's: its NULL tenant is a value of the key)."""
        tenant = facts(table).tenant_column
        for key in facts(table).idempotency_keys:
            if all(row.get(column) is not None for column in key if column != tenant):
                condition = sa.and_(*(table.c[column] == row[column] for column in key))
                found = connection.execute(sa.select(table).where(condition)).mappings().first()
                if found is not None:
                    return dict(found)
        return None

    def original(
        self,
        connection: Connection,
        spec: CapabilitySpec,
        table: sa.Table,
        row: Mapping[str, Any],
        *,
        clock_columns: frozenset[str] = frozenset(),
    ) -> Mapping[str, Any]:
        """A write that inserted nothing: the caller's own earlier row under the same
        idempotency key, which must be the row this call would have written (but for
        `clock_columns`, the runtime's time of each attempt); else a refusal. Every key is
        its tenant's own (ECM074), so no other tenant's row is ever found."""
        original = self.replay_of(connection, table, row)
        if original is None:
            self.refusals.refuse(
                spec,
                Role.CONTRACT_VALIDATION,
                ContractViolation,
                f"{spec.id}: a row with the same unique key already exists in {table.name}",
            )
        identity = facts(table).identity
        differs = sorted(
            column
            for column, value in row.items()
            if column != identity and column not in clock_columns and original.get(column) != value
        )
        if differs:
            self.conflict(spec, f"its first call wrote other values of {', '.join(differs)}")
        return original

    def conflict(self, spec: CapabilitySpec, why: str) -> NoReturn:
        """A used idempotency key, reused for another call: refused, never replayed."""
        self.refusals.refuse(
            spec,
            Role.IDEMPOTENCY_REPLAY,
            IdempotencyConflict,
            f"{spec.id}: the idempotency key names another call ({why}); a retry repeats its "
            "call exactly, and a new call needs a new key",
        )

    def replayed(self, spec: CapabilitySpec, row_id: RowId) -> Written:
        return Written(row_id, True, self.refusals.code(spec, Role.IDEMPOTENCY_REPLAY))

    def keyed(
        self,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        scope: Sequence[object],
    ) -> KeyedCall | None:
        """The call under its idempotency key, within `scope`; None: it has no key."""
        idempotency_key = values.get(IDEMPOTENCY_FIELD)
        if idempotency_key is None:
            return None
        return KeyedCall(spec.id, ctx.tenant_id, tuple(scope), str(idempotency_key), digest(values))

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
        declared = next(iter(facts(table).idempotency_keys), ())
        columns = [c for c in declared if c != IDEMPOTENCY_FIELD] or list(key)
        keyed = self.keyed(ctx, spec, values, [table.name, *(row.get(c) for c in columns)])
        return None if keyed is None else self.claim_in(connection, spec, keyed, now)

    def claim_in(
        self,
        connection: Connection,
        spec: CapabilitySpec,
        keyed: KeyedCall,
        now: int,
        *,
        pending_ok: bool = False,
    ) -> Claim:
        """Claim a key. In the call's own transaction the claim commits with the call, so no
        other call sees it pending (a concurrent one waits at the database, then replays);
        only a call that runs apart (`pending_ok`) meets a pending claim."""
        claim = self.outcomes.claim(connection, keyed, now)
        if claim.state is ClaimState.CONFLICT:
            self.conflict(spec, "another capability or another input")
        if claim.state is ClaimState.PENDING and not pending_ok:
            self.conflict(spec, "a call still running outside a transaction")
        return claim

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
