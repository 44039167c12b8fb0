"""Transactions: one per call, read-only where the spec says so, driver errors translated.

Capabilities declared `side_effects: NONE` run in a transaction the database itself keeps
read-only (`PRAGMA query_only` on SQLite, `SET TRANSACTION READ ONLY` on PostgreSQL). A driver
error becomes a `StorageError` carrying the capability's own reason code.

On a SQLite file a call's connection is kept for the next call instead of going back to the
pool: checkout and checkin cost a single write ~30 µs of its ~120 µs of CPU
(bench/bench_runtime.py), and a connection to a file cannot go stale the way a server's can.
A few are kept, so concurrent callers each find one and the pool keeps the rest for others.
(An in-memory database is one per thread, so its connections are never handed across; a
forked child never uses its parent's, as SQLite requires.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa
from ecm_contract import Role
from ecm_contract.invariants import present
from sqlalchemy.engine import Connection, Engine

from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.errors import (
    AppendOnlyViolation,
    ContractViolation,
    ReadOnlyViolation,
    ReferenceMissing,
    StorageUnavailable,
)
from ecm_runtime.guards import APPEND_ONLY_MESSAGE
from ecm_runtime.prepared import DriverErrors
from ecm_runtime.refusals import Refusals

QUERY_ONLY: Final = "ecm_query_only"
KEPT_CONNECTIONS: Final = 2
"""SQLite connections kept between calls; a third concurrent caller takes one from the pool."""


class Transactions:
    def __init__(self, engine: Engine, refusals: Refusals) -> None:
        self.engine = engine
        self.refusals = refusals
        self.sqlite = engine.dialect.name == "sqlite"
        self.keeps = self.sqlite and isinstance(engine.pool, sa.pool.QueuePool)
        """Whether connections are kept between calls: a SQLite file's (QueuePool) only."""
        self._kept: list[Connection] = []
        self._keeper = os.getpid()
        """The process the kept connections belong to."""

    @contextmanager
    def begin(self, *, read_only: bool, spec: CapabilitySpec | None = None) -> Iterator[Connection]:
        try:
            connection = self._connection()
        except sa.exc.DBAPIError as error:  # the database cannot be reached
            raise self._translate(error, spec) from error
        try:
            transaction = self._on_driver if self.sqlite else self._on_connection
            with transaction(connection, read_only):
                yield connection
        except sa.exc.DBAPIError as error:
            raise self._translate(error, spec) from error
        finally:
            self._release(connection)

    def close(self) -> None:
        """Close the kept connections (the engine's pool closes the rest on dispose)."""
        while self._kept:
            self._kept.pop().close()

    @contextmanager
    def _on_connection(self, connection: Connection, read_only: bool) -> Iterator[None]:
        """A server's transaction, through SQLAlchemy."""
        with connection.begin():
            if read_only:
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield

    @contextmanager
    def _on_driver(self, connection: Connection, read_only: bool) -> Iterator[None]:
        """A SQLite transaction begun and ended on the driver's connection: SQLAlchemy's own
        costs a write ~15 µs of CPU more. A statement run through SQLAlchemy inside it opens
        SQLAlchemy's transaction on top (the engine's begin hook finds the driver's open and
        adds nothing), and that one then ends the driver's."""
        driver = present(connection.connection.driver_connection, "the driver's connection")
        if read_only:
            # query_only is state of the connection, not of a transaction: recorded in its
            # info until it is off again, so a connection left with it on is never kept.
            connection.info[QUERY_ONLY] = True
            driver.execute("PRAGMA query_only = ON")
        try:
            with DriverErrors(self.engine.dialect):
                driver.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._end(connection, driver, commit=False)
                raise
            self._end(connection, driver, commit=True)
        finally:
            if read_only:
                driver.execute("PRAGMA query_only = OFF")
                connection.info[QUERY_ONLY] = False

    def _end(self, connection: Connection, driver: Any, *, commit: bool) -> None:
        if connection.in_transaction():  # SQLAlchemy's, on top of the driver's: ends both
            connection.commit() if commit else connection.rollback()
            return
        with DriverErrors(self.engine.dialect):
            driver.commit() if commit else driver.rollback()

    def _connection(self) -> Connection:
        if self._keeper != os.getpid():
            # A forked child never uses its parent's connections: detached from the pool, they
            # are closed when collected, as the pool's own are after dispose(close=False).
            for inherited in self._kept:
                inherited.detach()
            self._kept, self._keeper = [], os.getpid()
        try:
            return self._kept.pop()  # atomic: concurrent callers never share one
        except IndexError:
            return self.engine.connect()

    def _release(self, connection: Connection) -> None:
        """Keep a clean SQLite file connection for the next call; return any other to the pool."""
        if self.sqlite:
            try:
                _roll_back_leftover(connection)
            except sa.exc.DBAPIError:
                # The call's own error is the one to raise; a connection in an unknown state
                # is discarded, not returned.
                connection.invalidate()
        if self.keeps and len(self._kept) < KEPT_CONNECTIONS and _clean(connection):
            self._kept.append(connection)
        else:
            connection.close()

    def _translate(self, error: sa.exc.DBAPIError, spec: CapabilitySpec | None) -> Exception:
        text = str(error.orig)
        if spec is None:
            return error
        code = self.refusals.code
        if APPEND_ONLY_MESSAGE in text:
            return AppendOnlyViolation(code(spec, Role.APPEND_ONLY_VIOLATION), text)
        if "read-only" in text or "readonly" in text or "query_only" in text:
            return ReadOnlyViolation(code(spec, Role.CONTRACT_VALIDATION), text)
        if isinstance(error, sa.exc.IntegrityError) and _names_a_missing_row(error, text):
            return ReferenceMissing(code(spec, Role.CONTRACT_VALIDATION), text)
        if isinstance(error, sa.exc.IntegrityError | sa.exc.DataError):
            # A value the database cannot hold (a NUL in PostgreSQL text, say) is bad input.
            return ContractViolation(code(spec, Role.CONTRACT_VALIDATION), text)
        if error.connection_invalidated or isinstance(
            error, sa.exc.OperationalError | sa.exc.InterfaceError
        ):
            # An outage, or SQLite's lock held past the busy timeout: nothing was committed.
            return StorageUnavailable(code(spec, Role.STORAGE_UNAVAILABLE), text)
        return error


def _names_a_missing_row(error: sa.exc.IntegrityError, text: str) -> bool:
    """A foreign key refused the row: SQLite says so in words, PostgreSQL by SQLSTATE 23503."""
    return getattr(error.orig, "sqlstate", None) == "23503" or "FOREIGN KEY constraint" in text


def _roll_back_leftover(connection: Connection) -> None:
    """Roll back what a refused end left open on the driver: SQLite keeps a transaction whose
    COMMIT a deferred constraint refused, and neither SQLAlchemy (its transaction has ended)
    nor the pool (it resets only after a Connection's open transaction) rolls it back."""
    driver = _idle_driver(connection)
    if driver is not None and driver.in_transaction:
        with DriverErrors(connection.dialect):
            driver.rollback()


def _clean(connection: Connection) -> bool:
    """Whether a SQLite connection is as a new call expects it: open, in no transaction, not
    read-only, with the engine's execution options (a handler may have set its own)."""
    driver = _idle_driver(connection)
    if driver is None or driver.in_transaction or connection.info.get(QUERY_ONLY):
        return False
    return connection.get_execution_options() is connection.engine.get_execution_options()


def _idle_driver(connection: Connection) -> Any:
    """The driver's connection of an open connection in no SQLAlchemy transaction; else None."""
    if connection.closed or connection.invalidated or connection.in_transaction():
        return None
    return connection.connection.driver_connection
