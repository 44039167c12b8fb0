"""Every LEDGER table is an event log: append, fetch_since, tail, replay.

A ledger's identity column is the sequence, its rows are the events. `append` is the one way
a row enters a ledger, for the runtime's operations and for callers of `write` alike: an
idempotent insert, then the row's projection, in the caller's transaction. A view writer
turns events into state; the projection writer of a CURRENT table is the projector direct
writes use, over the same tenant scope a rebuild uses, so replay and direct writes give
identical rows by construction.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from ecm_contract import TruthType
from sqlalchemy.engine import Connection, Engine

from ecm_runtime.chain import Chains
from ecm_runtime.facts import facts
from ecm_runtime.guards import NOTIFY_CHANNEL
from ecm_runtime.idempotency import held_row
from ecm_runtime.positions import after
from ecm_runtime.projection import EVERY_TENANT, Projector, TenantScope
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
    def __init__(
        self, table: sa.Table, transactions: Transactions, projector: Projector, chains: Chains
    ):
        if facts(table).truth_type is not TruthType.LEDGER or not facts(table).identity:
            raise ValueError(f"{table.name} is not a ledger with a sequence column")
        self.table, self.transactions, self.projector = table, transactions, projector
        self.chains = chains
        self.storage = projector.storage
        self.sequence = table.c[facts(table).numbered]

    def _event(self, row: Mapping[Any, Any]) -> LedgerEvent:
        values = {str(key): value for key, value in row.items()}
        return LedgerEvent(self.table.name, int(values[self.sequence.name]), values)

    def append(self, connection: Connection, row: Mapping[str, Any]) -> LedgerEvent | None:
        """Insert one event and project it, in the caller's transaction; None when a unique
        key of the ledger already holds it (the caller decides what a retry answers). The row
        takes its place in its chain (chain.py); the chain stays as it was if it did not go in."""
        stamped, before = self.chains.stamped(connection, self.table, row)
        sequence = self.storage.insert_new(connection, self.table, stamped)
        if sequence is None:
            self.chains.put_back(connection, self.table, row, before)
            return None
        row = stamped
        event = LedgerEvent(self.table.name, int(sequence), {**row, self.sequence.name: sequence})
        self.projector.project(connection, self.table, event.row)
        return event

    def write(self, connection: Connection, row: Mapping[str, Any]) -> LedgerEvent:
        """Append one event (see `append`); a retry of an event already held returns it."""
        event = self.append(connection, row)
        if event is not None:
            return event
        original = held_row(connection, self.table, row)
        if original is None:
            raise ValueError(f"a unique key of {self.table.name} already holds another event")
        return self._event(original)

    def fetch_since(
        self, connection: Connection, since: int = 0, limit: int = REPLAY_BATCH
    ) -> list[LedgerEvent]:
        """Events after the cursor `since` (the sequence of the last event read), in the
        log's order, at most `limit` of them; only events no later commit can precede
        (positions.py), so a reader that pages on gets each event exactly once."""
        query = after(connection, self.table, self.sequence, sa.select(self.table), since)
        return [self._event(row) for row in connection.execute(query.limit(limit)).mappings()]

    async def tail(
        self,
        since: int = 0,
        *,
        poll_seconds: float = 0.2,
        limit: int = REPLAY_BATCH,
        retry_seconds: float = 1.0,
        connect_timeout: float = 10.0,
    ) -> AsyncIterator[LedgerEvent]:
        """Events after `since` as they arrive, until the consumer stops iterating. Reads and
        waits run in worker threads, connections are opened there with a timeout, so the
        event loop never waits on the database. On PostgreSQL an append wakes the tail at
        once (LISTEN/NOTIFY: a hint, never the data); `poll_seconds` is then only the
        longest wait. A lost connection (a server restart) is retried every `retry_seconds`,
        from where the tail stood."""
        cursor = since
        wakeups = _Wakeups(self.transactions.engine, self.table.name, connect_timeout)
        try:
            while True:
                try:
                    batch = await asyncio.to_thread(self._fetch, cursor, limit)
                except sa.exc.DBAPIError as error:
                    if not _connection_lost(error):
                        raise
                    await asyncio.sleep(retry_seconds)
                    continue
                for event in batch:
                    cursor = event.sequence
                    yield event
                if len(batch) < limit:
                    await asyncio.to_thread(wakeups.wait, poll_seconds)
        finally:
            wakeups.close()

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
    use, over one tenant's rows (as the rebuild capability does) or, by default, every
    tenant's."""

    def __init__(
        self, owner: HasProjector, ledger: str, tenant_id: TenantScope = EVERY_TENANT
    ) -> None:
        self.projector = owner.projector
        self.ledger = self.projector.storage.tables[ledger]
        current = self.projector.projections.get(ledger)
        if current is None:
            raise ValueError(f"{ledger} has no CURRENT projection")
        self.current, self.tenant_id = current, tenant_id

    def reset(self, connection: Connection) -> None:
        self.projector.reset(connection, self.current, self.tenant_id)

    def apply(self, connection: Connection, event: LedgerEvent) -> None:
        if self.projector.in_scope(self.current, event.row, self.tenant_id):
            self.projector.project(connection, self.ledger, event.row)


def _connection_lost(error: sa.exc.DBAPIError) -> bool:
    """Whether an error is the connection's, not the statement's: the server went away."""
    return error.connection_invalidated or isinstance(
        error, sa.exc.OperationalError | sa.exc.InterfaceError
    )


class _Wakeups:
    """A blocking `wait(seconds)` that returns early when a ledger is appended to: on
    PostgreSQL a LISTEN session of its own, opened on first use with a timeout (in the
    tail's worker thread) and opened again after it is lost; elsewhere a plain sleep."""

    def __init__(self, engine: Engine, table: str, connect_timeout: float) -> None:
        self.engine, self.table, self.connect_timeout = engine, table, connect_timeout
        self.listener: Any = None

    def wait(self, seconds: float) -> None:
        if self.engine.dialect.name != "postgresql":
            time.sleep(seconds)
            return
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            if self.listener is None:
                self.listener = self._listen()
            for notice in self.listener.notifies(timeout=seconds):
                if notice.payload == self.table:
                    return
        except dbapi.Error:
            self.close()  # the next wait listens again; the tail's reads notice the outage
            time.sleep(seconds)

    def _listen(self) -> Any:
        args, params = self.engine.dialect.create_connect_args(self.engine.url)
        timeout = max(1, round(self.connect_timeout))
        listener = self.engine.dialect.loaded_dbapi.connect(
            *args, **{**params, "connect_timeout": timeout, "autocommit": True}
        )
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        return listener

    def close(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                listener.close()
