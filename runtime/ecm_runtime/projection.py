"""Projections: a CURRENT table kept as a fold over its ledger.

The same code applies one ledger row to its projection for a direct write and for a rebuild,
so both give the same rows by construction (the event-log seed's invariant). A rebuild streams
the ledger in event order, in batches: memory stays flat however long the ledger is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ecm_runtime.facts import facts
from ecm_runtime.storage import Storage

REBUILD_BATCH = 5000
"""Ledger rows read, folded and written per round trip of a rebuild."""


class _EveryTenant:
    """The scope of a projection's rows across tenants (None is the system scope)."""

    def __repr__(self) -> str:
        return "EVERY_TENANT"


EVERY_TENANT = _EveryTenant()
TenantScope = str | None | _EveryTenant
"""Whose rows: one tenant's, the system scope's (None), or EVERY_TENANT's."""


class Projector:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.projections = {
            facts(t).projection_of: t for t in storage.tables.values() if facts(t).projection_of
        }
        """Ledger name -> its CURRENT table."""

    def project(self, connection: Connection, ledger: sa.Table, row: Mapping[str, Any]) -> None:
        """Apply one ledger row to the ledger's CURRENT projection, if it has one."""
        self.project_many(connection, ledger, (row,))

    def project_many(
        self, connection: Connection, ledger: sa.Table, rows: Iterable[Mapping[str, Any]]
    ) -> None:
        """Apply ledger rows, in event order, to the ledger's CURRENT projection."""
        current = self.projections.get(ledger.name)
        if current is None:
            return
        sources = self._sources(current)
        projected = ({n: row[s] for n, s in sources if s in row} for row in rows)
        self._fold(connection, current, projected)

    def _fold(
        self, connection: Connection, current: sa.Table, projected: Iterable[dict[str, Any]]
    ) -> None:
        """Write projected rows, in event order: each replaces its key's row whole, so only
        the last per key is written, all in one bulk upsert."""
        key = [c.name for c in current.primary_key.columns]
        latest: dict[tuple[Any, ...], dict[str, Any]] = {}
        for values in projected:
            latest[tuple(values.get(k) for k in key)] = values
        if not latest:
            return
        names = tuple(next(iter(latest.values())))
        statement = self.storage.statement(
            "upsert",
            current,
            names,
            lambda: self.storage.upsert_statement(current, key, dict.fromkeys(names)),
        )
        connection.execute(statement, list(latest.values()))

    @staticmethod
    def _sources(current: sa.Table) -> list[tuple[str, str]]:
        """Each projection column and the ledger column it takes its value from."""
        mapping = dict(facts(current).project)
        return [(c.name, mapping.get(c.name, c.name)) for c in current.columns]

    def in_scope(self, current: sa.Table, row: Mapping[str, Any], scope: TenantScope) -> bool:
        """Whether a ledger row (or a projection row) belongs to the scope."""
        tenant = facts(current).tenant_column
        if isinstance(scope, _EveryTenant) or not tenant:
            return True
        ledger = self.storage.tables[facts(current).projection_of or ""]
        column = facts(ledger).tenant_column or tenant
        return bool(row.get(column, row.get(tenant)) == scope)

    def reset(self, connection: Connection, current: sa.Table, scope: TenantScope) -> None:
        """Clear the scope's rows of a projection (all of them when it holds no tenants)."""
        tenant = facts(current).tenant_column
        delete = current.delete()
        if tenant and not isinstance(scope, _EveryTenant):
            delete = delete.where(current.c[tenant] == scope)
        connection.execute(delete)

    def rebuild(self, connection: Connection, current: sa.Table, scope: TenantScope) -> None:
        """Rebuild the scope's rows of a CURRENT table from its ledger, in event order: the
        reset and the projection of each event are the ones replay through a
        ProjectionWriter uses."""
        ledger = self.storage.tables[facts(current).projection_of or ""]
        self.reset(connection, current, scope)
        # Only the ledger columns the projection reads, as plain tuples: the rows a rebuild
        # streams are the bulk of its cost.
        sources = [(n, s) for n, s in self._sources(current) if s in ledger.c]
        read = list(dict.fromkeys(s for _, s in sources))
        at = {source: index for index, source in enumerate(read)}
        select = sa.select(*(ledger.c[s] for s in read)).order_by(ledger.c[facts(ledger).numbered])
        tenant = facts(current).tenant_column
        if tenant and not isinstance(scope, _EveryTenant):
            ledger_tenant = facts(ledger).tenant_column or tenant
            select = select.where(ledger.c[ledger_tenant] == scope)
        # The batching option goes on the statement, not the connection, so the projection
        # writes stay ordinary.
        stream = connection.execute(select.execution_options(yield_per=REBUILD_BATCH))
        for batch in stream.partitions():
            projected = ({n: row[at[s]] for n, s in sources} for row in batch)
            self._fold(connection, current, projected)
