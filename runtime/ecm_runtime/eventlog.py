"""Event-log operations over every LEDGER table: write, fetch_since, tail, replay.

A ledger is an event log: its identity column is the sequence, its rows are the events. A view
writer turns events into state; the projection writer of a CURRENT table is the same code the
runtime's direct writes use, so replay and direct write give identical rows by construction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ecm_runtime.projection import Projector
from ecm_runtime.transactions import Transactions

REPLAY_BATCH = 500


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    table: str
    sequence: int
    row: Mapping[str, Any]


class ViewWriter(Protocol):
    """State built from a ledger: cleared by `reset`, advanced one event at a time."""

    def reset(self, connection: Connection) -> None: ...

    def apply(self, connection: Connection, event: LedgerEvent) -> None: ...


class EventLog:
    def __init__(self, tables: Mapping[str, sa.Table], transactions: Transactions, table: str):
        self.transactions = transactions
        self.table = tables[table]
        if self.table.info.get("truth_type") != "LEDGER" or not self.table.info.get("identity"):
            raise ValueError(f"{table} is not a ledger with a sequence column")
        self.sequence = self.table.c[self.table.info["identity"]]

    def _event(self, row: Mapping[Any, Any]) -> LedgerEvent:
        values = {str(key): value for key, value in row.items()}
        return LedgerEvent(self.table.name, int(values[self.sequence.name]), values)

    def write(self, connection: Connection, row: Mapping[str, Any]) -> LedgerEvent:
        """Append one event in the caller's transaction; the database assigns its sequence."""
        inserted = (
            connection.execute(sa.insert(self.table).values(dict(row)).returning(*self.table.c))
            .mappings()
            .one()
        )
        return self._event(inserted)

    def fetch_since(
        self, connection: Connection, since: int = 0, limit: int = REPLAY_BATCH
    ) -> list[LedgerEvent]:
        """Events after the cursor `since`, in order, at most `limit` of them."""
        query = (
            sa.select(self.table).where(self.sequence > since).order_by(self.sequence).limit(limit)
        )
        return [self._event(row) for row in connection.execute(query).mappings()]

    async def tail(
        self, since: int = 0, *, poll_seconds: float = 0.2, limit: int = REPLAY_BATCH
    ) -> AsyncIterator[LedgerEvent]:
        """Events after `since` as they arrive; polls on both backends. Each poll runs in a
        worker thread, so the event loop never waits on the database. Stops when the consumer
        stops iterating."""
        cursor = since
        while True:
            batch = await asyncio.to_thread(self._fetch, cursor, limit)
            for event in batch:
                cursor = event.sequence
                yield event
            if len(batch) < limit:
                await asyncio.sleep(poll_seconds)

    def _fetch(self, since: int, limit: int) -> list[LedgerEvent]:
        with self.transactions.begin(read_only=True) as connection:
            return self.fetch_since(connection, since, limit)

    def replay(self, writer: ViewWriter, *, reset: bool = True) -> int:
        """Drain the log through `writer` in one transaction; the highest sequence applied."""
        highest = 0
        with self.transactions.begin(read_only=False) as connection:
            if reset:
                writer.reset(connection)
            query = sa.select(self.table).order_by(self.sequence)
            rows = connection.execute(query.execution_options(yield_per=REPLAY_BATCH))
            for row in rows.mappings():
                event = self._event(row)
                writer.apply(connection, event)
                highest = event.sequence
        return highest


class HasProjector(Protocol):
    """What owns the projections: the runtime, in practice."""

    @property
    def projector(self) -> Projector: ...


class ProjectionWriter:
    """The view writer of a ledger's CURRENT table: the projector the runtime's direct writes
    use, so a replay and direct writes give the same rows. A replay resets every tenant's
    rows and replays every tenant's events."""

    def __init__(self, owner: HasProjector, ledger: str) -> None:
        self.projector = owner.projector
        self.ledger = self.projector.storage.tables[ledger]
        current = self.projector.projections.get(ledger)
        if current is None:
            raise ValueError(f"{ledger} has no CURRENT projection")
        self.current = current

    def reset(self, connection: Connection) -> None:
        connection.execute(self.current.delete())

    def apply(self, connection: Connection, event: LedgerEvent) -> None:
        self.projector.project(connection, self.ledger, event.row)
