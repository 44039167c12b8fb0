"""Projections: a CURRENT table kept as a fold over its ledger.

The same code applies one ledger row to its projection for a direct write and for a rebuild,
so both give the same rows by construction (the event-log seed's invariant). A rebuild streams
the ledger in event order, in batches: memory stays flat however long the ledger is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ecm_runtime.facts import facts
from ecm_runtime.storage import Storage

REBUILD_BATCH = 500


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
        current = self.projections.get(ledger.name)
        if current is None:
            return
        mapping = dict(facts(current).project)
        values = {
            c.name: row[mapping.get(c.name, c.name)]
            for c in current.columns
            if mapping.get(c.name, c.name) in row
        }
        key = [c.name for c in current.primary_key.columns]
        statement = self.storage.statement(
            "upsert",
            current,
            tuple(values),
            lambda: self.storage.upsert_statement(current, key, values),
        )
        connection.execute(statement, values)

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
        select = sa.select(ledger).order_by(ledger.c[facts(ledger).numbered])
        tenant = facts(current).tenant_column
        if tenant and not isinstance(scope, _EveryTenant):
            ledger_tenant = facts(ledger).tenant_column or tenant
            select = select.where(ledger.c[ledger_tenant] == scope)
        # The batching option goes on the statement, not the connection, so the projection
        # writes stay ordinary.
        stream = connection.execute(select.execution_options(yield_per=REBUILD_BATCH))
        for row in stream.mappings():
            self.project(connection, ledger, dict(row))
