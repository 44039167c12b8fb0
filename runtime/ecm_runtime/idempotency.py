"""Idempotency for writes whose own table cannot hold the key: upserts of CURRENT and CACHE
rows (one row takes many writes, so a key on the row would only remember the last), and
appends to tables that declare no idempotency key.

The outcome of each keyed write is kept in a table of the runtime's own, claimed before the
write and filled after it, in the write's transaction. A retry finds the claim and answers
with the first write's outcome, however the row changed since; two concurrent first attempts
meet at the claim's primary key, so one writes and the other replays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from ecm_runtime.canonical import digest
from ecm_runtime.results import RowId

metadata = sa.MetaData()
"""The runtime's own tables, beside the generated package's: created with them."""

OUTCOMES = sa.Table(
    "ecm_write_outcomes",
    metadata,
    sa.Column("scope_digest", sa.String(64), primary_key=True),
    sa.Column("capability_id", sa.Text(), nullable=False),
    sa.Column("tenant_id", sa.Text(), nullable=True),
    sa.Column("idempotency_key", sa.Text(), nullable=False),
    sa.Column("outcome", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    comment="Outcomes of idempotent writes, for replays (ecm_runtime).",
)


@dataclass(frozen=True, slots=True)
class Claim:
    scope_digest: str
    replay: RowId | None
    """The first write's row id when this write is a retry; None when it is the first."""
    outcome: Mapping[str, Any] | None = None
    """The first call's whole outcome when this call is a retry (a handler's: its answer)."""


class Outcomes:
    def __init__(self, table: sa.Table, insert: Callable[[sa.Table], Any]) -> None:
        self.table = table
        self._claim = insert(table).on_conflict_do_nothing().returning(table.c.scope_digest)

    def claim(
        self,
        connection: Connection,
        capability_id: str,
        tenant_id: str | None,
        scope: Sequence[object],
        key: str,
        now: int,
    ) -> Claim:
        """Claim `key` within `scope` (the table, the tenant, the scope's values)."""
        scope_digest = self.scope_digest(tenant_id, scope, key)
        row = {
            "scope_digest": scope_digest,
            "capability_id": capability_id,
            "tenant_id": tenant_id,
            "idempotency_key": key,
            "outcome": None,
            "created_at": now,
        }
        if connection.execute(self._claim, row).first() is not None:
            return Claim(scope_digest, None)
        outcome = self.outcome(connection, scope_digest)
        assert outcome is not None  # a claim and its outcome commit together
        stored = outcome.get("id")
        replay = tuple(stored) if isinstance(stored, list) else stored
        return Claim(scope_digest, replay, outcome)

    @staticmethod
    def scope_digest(tenant_id: str | None, scope: Sequence[object], key: str) -> str:
        return digest([tenant_id, *scope, key])

    def outcome(self, connection: Connection, scope_digest: str) -> Mapping[str, Any] | None:
        """The recorded outcome of a claim, if any."""
        query = sa.select(self.table.c.outcome).where(self.table.c.scope_digest == scope_digest)
        stored = connection.execute(query).scalar()
        return dict(stored) if isinstance(stored, Mapping) else None

    def record(self, connection: Connection, claim: Claim, row_id: RowId) -> None:
        self.record_outcome(
            connection, claim, {"id": list(row_id) if isinstance(row_id, tuple) else row_id}
        )

    def record_outcome(
        self, connection: Connection, claim: Claim, outcome: Mapping[str, Any]
    ) -> None:
        statement = (
            self.table.update()
            .where(self.table.c.scope_digest == claim.scope_digest)
            .values(outcome=dict(outcome))
        )
        connection.execute(statement)
