"""Opening a database: the engine a runtime runs on, with the settings every backend needs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from ecm_contract.invariants import present
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

CONNECT_TIMEOUT = 10
"""Seconds a PostgreSQL connection may take to open, unless the URL says otherwise."""
BUSY_TIMEOUT = 30
"""Seconds a SQLite writer waits for another's lock, unless the URL says (`?timeout=`)."""


def make_engine(url: str) -> Engine:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        # A server that never answers fails a connection in seconds, not never.
        parsed = parsed.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT)})
    if parsed.get_backend_name() == "sqlite" and "timeout" not in parsed.query:
        # How long a writer waits for another's lock before its call is refused.
        parsed = parsed.update_query_dict({"timeout": str(BUSY_TIMEOUT)})
    engine = sa.create_engine(parsed)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and transactions that take the write lock up front
    when they will write, so concurrent writers queue instead of failing to upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN below, not pysqlite's
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode = WAL", "foreign_keys = ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # Straight to the driver: SQLAlchemy's statement path costs more than the BEGIN. The
        # runtime's own transactions are begun on the driver already (transactions.py).
        driver = present(connection.connection.dbapi_connection, "the driver's connection")
        if not driver.in_transaction:
            driver.execute("BEGIN IMMEDIATE")
