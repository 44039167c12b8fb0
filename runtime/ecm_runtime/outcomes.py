"""The outcomes table: the store of idempotency claims for calls whose own rows cannot hold
their key (idempotency.py says which calls and what a claim means).

A claim is a row keyed by the digest of (tenant, scope, key), inserted before the call and
filled with its outcome after it: two concurrent first attempts meet at its primary key, so
one runs and the other replays. A claim records which capability and which input it was for,
so a key reused for another call is told apart. A NULL outcome is a call still running
outside any transaction; its `created_at` is the version a release, record or take-over
checks, so a holder that lost its lease cannot overwrite its successor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
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
    sa.Column("request_digest", sa.String(64), nullable=False),
    sa.Column(
        "outcome",
        sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"),
        nullable=True,
    ),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    comment="Outcomes of idempotent calls, for replays (ecm_runtime); a NULL outcome is a call "
    "still running, claimed at created_at.",
)


@dataclass(frozen=True, slots=True)
class KeyedCall:
    """One call under an idempotency key: what the key names."""

    capability_id: str
    tenant_id: str | None
    scope: tuple[object, ...]
    """What the key is unique within, beside the tenant (a table and its key's values)."""
    key: str
    request_digest: str
    """The digest of the call's whole input: a retry asks exactly what the first call did."""

    @property
    def scope_digest(self) -> str:
        return digest([self.tenant_id, *self.scope, self.key])


class ClaimState(Enum):
    FIRST = "first"
    """This call holds the key: it runs, and records its outcome."""
    REPLAY = "replay"
    """The key's first call finished: this call answers with its outcome."""
    CONFLICT = "conflict"
    """The key names another call (another capability or another input)."""
    PENDING = "pending"
    """The key's first call is still running (outside any transaction)."""


@dataclass(frozen=True, slots=True)
class Claim:
    scope_digest: str
    state: ClaimState
    claimed_at: int
    """When the holder claimed the key: the version a release, record or take-over checks."""
    outcome: Mapping[str, Any] | None = None
    """The first call's whole outcome, for a replay (a handler's: its answer)."""

    @property
    def replay(self) -> RowId | None:
        """The first write's row id when this call replays it; None otherwise."""
        if self.state is not ClaimState.REPLAY or self.outcome is None:
            return None
        stored = self.outcome.get("id")
        return tuple(stored) if isinstance(stored, list) else stored


class Outcomes:
    def __init__(self, table: sa.Table, insert: Callable[[sa.Table], Any]) -> None:
        self.table = table
        self._claim = insert(table).on_conflict_do_nothing().returning(table.c.scope_digest)

    def claim(self, connection: Connection, call: KeyedCall, now: int) -> Claim:
        """Claim the call's key, or say who holds it."""
        row = {
            "scope_digest": call.scope_digest,
            "capability_id": call.capability_id,
            "tenant_id": call.tenant_id,
            "idempotency_key": call.key,
            "request_digest": call.request_digest,
            "outcome": None,
            "created_at": now,
        }
        while True:
            if connection.execute(self._claim, row).first() is not None:
                return Claim(call.scope_digest, ClaimState.FIRST, now)
            held = self.held(connection, call)
            if held is not None:
                return held
            # Released between the two statements (its call failed): the key is free again.

    def held(self, connection: Connection, call: KeyedCall) -> Claim | None:
        """The claim another call holds on this call's key; None when nobody holds it."""
        table = self.table
        query = sa.select(
            table.c.capability_id, table.c.request_digest, table.c.outcome, table.c.created_at
        ).where(table.c.scope_digest == call.scope_digest)
        found = connection.execute(query).first()
        if found is None:
            return None
        capability_id, request_digest, outcome, claimed_at = found
        if (capability_id, request_digest) != (call.capability_id, call.request_digest):
            return Claim(call.scope_digest, ClaimState.CONFLICT, int(claimed_at))
        if outcome is None:
            return Claim(call.scope_digest, ClaimState.PENDING, int(claimed_at))
        return Claim(call.scope_digest, ClaimState.REPLAY, int(claimed_at), dict(outcome))

    def record(self, connection: Connection, claim: Claim, row_id: RowId) -> None:
        self.record_outcome(
            connection, claim, {"id": list(row_id) if isinstance(row_id, tuple) else row_id}
        )

    def record_outcome(
        self, connection: Connection, claim: Claim, outcome: Mapping[str, Any]
    ) -> bool:
        """Fill the claim's outcome; False when the claim is no longer this call's (a pending
        claim past its lease was taken over)."""
        statement = self._held(claim).values(outcome=dict(outcome))
        return connection.execute(statement).rowcount == 1

    def take_over(self, connection: Connection, claim: Claim, now: int) -> Claim | None:
        """Take a pending claim past its lease; None when its holder moved first."""
        statement = self._held(claim).values(created_at=now)
        if connection.execute(statement).rowcount != 1:
            return None
        return Claim(claim.scope_digest, ClaimState.FIRST, now)

    def release(self, connection: Connection, claim: Claim) -> None:
        """Give a pending claim up: its call failed, so the key may be used again."""
        table = self.table
        held = sa.and_(
            table.c.scope_digest == claim.scope_digest,
            table.c.outcome.is_(None),
            table.c.created_at == claim.claimed_at,
        )
        connection.execute(table.delete().where(held))

    def _held(self, claim: Claim) -> Any:
        table = self.table
        return table.update().where(
            table.c.scope_digest == claim.scope_digest,
            table.c.outcome.is_(None),
            table.c.created_at == claim.claimed_at,
        )
