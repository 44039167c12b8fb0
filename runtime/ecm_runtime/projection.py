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

from ecm_runtime.storage import Storage

REBUILD_BATCH = 500


class Projector:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.projections = {
            t.info["projection_of"]: t
            for t in storage.tables.values()
            if t.info.get("projection_of")
        }
        """Ledger name -> its CURRENT table."""

    def project(self, connection: Connection, ledger: sa.Table, row: Mapping[str, Any]) -> None:
        """Apply one ledger row to the ledger's CURRENT projection, if it has one."""
        current = self.projections.get(ledger.name)
        if current is None:
            return
        mapping = dict(current.info.get("project", ()))
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

    def reset(self, connection: Connection, current: sa.Table, tenant_id: str | None) -> None:
        """Clear one tenant's rows of a projection (all of them when it holds no tenants)."""
        tenant = current.info.get("tenant_column")
        delete = current.delete()
        if tenant:
            delete = delete.where(current.c[tenant] == tenant_id)
        connection.execute(delete)

    def rebuild(self, connection: Connection, current: sa.Table, tenant_id: str | None) -> None:
        """Rebuild one tenant's rows of a CURRENT table from its ledger, in event order."""
        ledger = self.storage.tables[current.info["projection_of"]]
        self.reset(connection, current, tenant_id)
        select = sa.select(ledger).order_by(ledger.c[ledger.info["identity"]])
        tenant = current.info.get("tenant_column")
        if tenant:
            ledger_tenant = ledger.info.get("tenant_column") or tenant
            select = select.where(ledger.c[ledger_tenant] == tenant_id)
        # The batching option goes on the statement, not the connection, so the projection
        # writes stay ordinary.
        stream = connection.execute(select.execution_options(yield_per=REBUILD_BATCH))
        for row in stream.mappings():
            self.project(connection, ledger, dict(row))
