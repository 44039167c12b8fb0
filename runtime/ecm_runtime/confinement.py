"""What a handler's connection may do: statements inside its capability's declared side
effects, in the call's own transaction, in the caller's tenant.

A handler is given a `HandlerConnection`, never the runtime's connection or engine. It runs
statements and nothing else: no commit, rollback or savepoint, no change of the transaction's
mode, no session settings. Each statement passes a gate before it reaches the database, and
the database holds the same lines where it can:

- every backend: one statement at a time, beginning with SELECT, WITH, VALUES, TABLE (reads)
  or INSERT, UPDATE, DELETE (writes, when the capability declares DB_WRITE); no `set_config`
  or other function that changes the session; the text is read with its comments and quoted
  parts set aside, so none of them hides a statement;
- SQLite: an authorizer on the connection while the handler runs refuses transaction control,
  PRAGMA, ATTACH and schema changes, and writes to any table its engine does not own (or to
  any table at all, for a read-only capability);
- PostgreSQL: the handler's statements run as the role `ecm_handler`, which row-level
  security confines to the caller's tenant and to writes of its engine's own tables
  (schema.py installs the policies); a read-only capability's transaction is read-only from
  its first query on, so it cannot be made read-write again.

A statement the gate or the database refuses fails the whole call, even if the handler catches
the error: nothing it wrote is committed (docs/runtime-contracts.md).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa
from ecm_contract.invariants import present
from sqlalchemy.engine import Connection, Result
from sqlalchemy.sql import Executable

HANDLER_ROLE: Final = "ecm_handler"
"""The PostgreSQL role a handler's statements run as (created by `Runtime.create_schema`)."""
TENANT_SETTING: Final = "ecm.tenant_id"
"""The transaction setting row-level security reads the caller's tenant from ('': none)."""
ENGINE_SETTING: Final = "ecm.engine"
"""The transaction setting row-level security reads the writing engine from."""

_READS = frozenset({"select", "with", "values", "table"})
_WRITES = frozenset({"insert", "update", "delete"})
_SESSION_FUNCTIONS = frozenset(
    {
        "set_config",
        "pg_advisory_lock",
        "pg_advisory_lock_shared",
        "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        "pg_advisory_unlock",
        "pg_advisory_unlock_all",
        "pg_advisory_unlock_shared",
        "dblink",
        "dblink_exec",
        "dblink_connect",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "load_extension",
    }
)
"""Functions that reach past the statement: the session's settings and role, session-level
locks that outlive the call, other connections."""

_LEXEME = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*)
    | (?P<dollar>\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)
    | (?P<escape_string>[Ee]'(?:[^'\\]|''|\\.)*')
    | (?P<string>[BbXxNn]?'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")*")
    | (?P<escaped>[Uu]&['"])
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<semicolon>;)
    | (?P<other>[^\s])
    """,
    re.VERBOSE | re.DOTALL,
)


class Refused(Exception):
    """A statement outside what the handler's capability may do."""


def words(sql: str, *, nested_comments: bool = True) -> list[str]:
    """The statement's words, lower-cased, with comments, string literals and dollar-quoted
    bodies set aside (a backslash escapes only in E'...' strings, as in PostgreSQL and
    SQLite; quoted identifiers count as words); refused when the text holds more than one
    statement or a spelling the gate cannot read."""
    found: list[str] = []
    at = 0
    while at < len(sql):
        match = _LEXEME.match(sql, at)
        if match is None:  # whitespace
            at += 1
            continue
        kind, text = match.lastgroup, match.group()
        at = match.end()
        if kind == "comment" and text == "/*":
            at = _block_comment_end(sql, at, nested_comments)
        elif kind == "dollar":
            end = sql.find(text, at)
            if end < 0:
                raise Refused("an unterminated dollar-quoted string")
            at = end + len(text)
        elif kind == "quoted":
            found.append(text[1:-1].replace('""', '"').lower())
        elif kind == "escaped":
            raise Refused("Unicode-escaped names and strings (U&) are not accepted")
        elif kind == "word":
            found.append(text.lower())
        elif kind == "semicolon" and sql[at:].strip():
            raise Refused("one statement at a time")
    return found


def _block_comment_end(sql: str, at: int, nested: bool) -> int:
    """The end of a block comment that began before `at` (PostgreSQL nests them; SQLite
    does not)."""
    depth = 1
    while depth:
        opening, closing = sql.find("/*", at), sql.find("*/", at)
        if closing < 0:
            raise Refused("an unterminated comment")
        if nested and 0 <= opening < closing:
            depth, at = depth + 1, opening + 2
        else:
            depth, at = depth - 1, closing + 2
    return at


def check_statement(sql: str, *, writes: bool, dialect: str = "postgresql") -> None:
    """Refuse a statement a handler may not run (see the module's docstring)."""
    found = words(sql, nested_comments=dialect == "postgresql")
    if not found:
        raise Refused("an empty statement")
    allowed = _READS | _WRITES if writes else _READS
    if found[0] not in allowed:
        what = "reads and writes" if writes else "reads"
        raise Refused(f"{found[0].upper()} statements are not among its {what}")
    session = sorted(_SESSION_FUNCTIONS.intersection(found))
    if session:
        raise Refused(f"{', '.join(session)} reaches past the statement")


class HandlerConnection:
    """The connection a handler is given: statements in the call's transaction, gated."""

    __slots__ = ("_connection", "_violations", "_writes")

    def __init__(self, connection: Connection, *, writes: bool) -> None:
        self._connection = connection
        self._writes = writes
        self._violations: list[str] = []

    @property
    def dialect_name(self) -> str:
        return self._connection.dialect.name

    def execute(
        self,
        statement: Executable,
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> Result[Any]:
        """Run one statement (a Core construct or `sa.text`) in the call's transaction."""
        sql = str(statement.compile(dialect=self._connection.dialect))  # type: ignore[attr-defined]
        try:
            check_statement(sql, writes=self._writes, dialect=self.dialect_name)
        except Refused as refused:
            self._violations.append(str(refused))
            raise
        try:
            return self._connection.execute(statement, parameters)
        except sa.exc.DBAPIError as error:
            if _not_authorized(error):
                self._violations.append(f"the database refused it: {error.orig}")
            raise

    def scalar(self, statement: Executable, parameters: Mapping[str, Any] | None = None) -> Any:
        return self.execute(statement, parameters).scalar()

    @property
    def violation(self) -> str | None:
        """The first statement the handler was refused, if any: it fails the call."""
        return self._violations[0] if self._violations else None


_REFUSED_STATES = frozenset({"42501", "25006"})
"""PostgreSQL's insufficient_privilege (row-level security included) and
read_only_sql_transaction."""


def _not_authorized(error: sa.exc.DBAPIError) -> bool:
    """Whether the database refused the statement as outside the handler's rights."""
    if isinstance(error.orig, sqlite3.DatabaseError):
        return "not authorized" in str(error.orig)
    return getattr(error.orig, "sqlstate", None) in _REFUSED_STATES


@contextmanager
def confined(
    connection: Connection,
    *,
    writes: bool,
    engine_id: str,
    tenant_id: str | None,
    owned: frozenset[str],
) -> Iterator[HandlerConnection]:
    """The handler's connection for the duration of its run, with the database's own lines
    drawn on the call's connection (and taken away again before the runtime writes its audit
    row and outcome)."""
    handler_connection = HandlerConnection(connection, writes=writes)
    if connection.dialect.name == "sqlite":
        driver = present(connection.connection.driver_connection, "the driver's connection")
        driver.set_authorizer(_authorizer(writes, owned))
        try:
            yield handler_connection
        finally:
            driver.set_authorizer(None)
        return
    if connection.dialect.name == "postgresql":
        settings = sa.text(
            "SELECT set_config(:tenant_setting, :tenant, true), "
            "set_config(:engine_setting, :engine, true)"
        )
        # A query before the role changes: a read-only transaction is read-only from here on.
        connection.execute(
            settings,
            {
                "tenant_setting": TENANT_SETTING,
                "tenant": tenant_id or "",
                "engine_setting": ENGINE_SETTING,
                "engine": engine_id,
            },
        )
        connection.exec_driver_sql(f"SET LOCAL ROLE {HANDLER_ROLE}")
        try:
            yield handler_connection
        finally:
            if not _aborted(connection):
                connection.exec_driver_sql("RESET ROLE")
        return
    yield handler_connection


def _aborted(connection: Connection) -> bool:
    """Whether a PostgreSQL transaction failed (the call rolls back; nothing more runs)."""
    driver: Any = connection.connection.driver_connection
    status = driver.info.transaction_status
    return bool(status == type(status).INERROR)


_ALWAYS_REFUSED = frozenset(
    {
        sqlite3.SQLITE_TRANSACTION,
        sqlite3.SQLITE_SAVEPOINT,
        sqlite3.SQLITE_PRAGMA,
        sqlite3.SQLITE_ATTACH,
        sqlite3.SQLITE_DETACH,
        sqlite3.SQLITE_ALTER_TABLE,
        sqlite3.SQLITE_REINDEX,
        sqlite3.SQLITE_ANALYZE,
        sqlite3.SQLITE_CREATE_INDEX,
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_CREATE_TEMP_INDEX,
        sqlite3.SQLITE_CREATE_TEMP_TABLE,
        sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
        sqlite3.SQLITE_CREATE_TEMP_VIEW,
        sqlite3.SQLITE_CREATE_TRIGGER,
        sqlite3.SQLITE_CREATE_VIEW,
        sqlite3.SQLITE_CREATE_VTABLE,
        sqlite3.SQLITE_DROP_INDEX,
        sqlite3.SQLITE_DROP_TABLE,
        sqlite3.SQLITE_DROP_TEMP_INDEX,
        sqlite3.SQLITE_DROP_TEMP_TABLE,
        sqlite3.SQLITE_DROP_TEMP_TRIGGER,
        sqlite3.SQLITE_DROP_TEMP_VIEW,
        sqlite3.SQLITE_DROP_TRIGGER,
        sqlite3.SQLITE_DROP_VIEW,
        sqlite3.SQLITE_DROP_VTABLE,
    }
)
_TABLE_WRITES = frozenset({sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE})


def _authorizer(writes: bool, owned: frozenset[str]) -> Any:
    def authorize(
        action: int, first: str | None, second: str | None, _db: str | None, trigger: str | None
    ) -> int:
        if trigger is not None:  # the schema's own triggers (append-only guards) run as written
            return sqlite3.SQLITE_OK
        if action in _ALWAYS_REFUSED:
            return sqlite3.SQLITE_DENY
        if action in _TABLE_WRITES and not (writes and first in owned):
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and (second or "").lower() in _SESSION_FUNCTIONS:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    return authorize
