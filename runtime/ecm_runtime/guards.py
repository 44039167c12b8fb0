"""The append-only guard of a ledger: the triggers that make the database refuse every
statement that would change or remove a row, and the check that they are there, enabled and
as written.

- PostgreSQL: a row trigger refuses UPDATE and DELETE (an upsert's DO UPDATE and MERGE
  included), a statement trigger refuses TRUNCATE; a third sends NOTIFY on NOTIFY_CHANNEL
  after inserts, so an event log's tail wakes when events commit.
- SQLite: triggers refuse UPDATE and DELETE; and since `REPLACE` (and `INSERT OR REPLACE`)
  removes a conflicting row without firing delete triggers, a trigger before each insert
  refuses a row whose primary key or unique key another row already holds, and one after it
  refuses a row numbered at or below zero (the number SQLite shows that trigger for a row it
  numbers itself, so no stored row may hold it).

A guard is checked for what a database user with owner rights can do to it: a trigger that
is missing, disabled (`ALTER TABLE ... DISABLE TRIGGER`), or replaced by another definition,
and on PostgreSQL a trigger function rewritten to let rows through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from ecm_contract import POSITION_COLUMN
from sqlalchemy.engine import Connection

APPEND_ONLY_MESSAGE = "ecm append-only table"
KEY_TAKEN = "a row with its key exists"
"""The end of the SQLite guard's refusal of an insert whose key is taken (a REPLACE's, or
an idempotent retry's: the runtime reads it as 'inserted nothing')."""
NOTIFY_CHANNEL = "ecm_ledger"

_PG_APPEND_ONLY = (
    f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} %', TG_TABLE_NAME "
    "USING ERRCODE = 'restrict_violation'; END"
)
_PG_NOTIFY = f"BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', TG_TABLE_NAME); RETURN NULL; END"
_PG_POSITION = f"BEGIN NEW.{POSITION_COLUMN} := pg_current_xact_id()::text::bigint; RETURN NEW; END"
PG_FUNCTIONS = {
    "ecm_append_only": _PG_APPEND_ONLY,
    "ecm_notify_ledger": _PG_NOTIFY,
    "ecm_position": _PG_POSITION,
}
"""Trigger function -> its body."""


@dataclass(frozen=True, slots=True)
class LedgerShape:
    """What a SQLite guard must know of its table: its columns and keys, as the database has
    them (so a migration guards the table as it stands at that point of its history)."""

    columns: tuple[str, ...]
    primary_key: tuple[str, ...]
    unique: tuple[tuple[tuple[str, ...], str | None], ...]
    """Each unique index: its columns and, for a partial one, its WHERE text."""
    numbered: bool
    """The primary key is SQLite's own row number (one INTEGER PRIMARY KEY column)."""


def ledger_shape(connection: Connection, table: str) -> LedgerShape:
    inspector = sa.inspect(connection)
    columns = inspector.get_columns(table)
    primary_key = tuple(inspector.get_pk_constraint(table)["constrained_columns"] or ())
    unique = []
    for index in inspector.get_indexes(table):
        if index.get("unique"):
            where = index.get("dialect_options", {}).get("sqlite_where")
            names = tuple(str(c) for c in index["column_names"] if c is not None)
            unique.append((names, str(where.text) if where is not None else None))
    for constraint in inspector.get_unique_constraints(table):
        unique.append((tuple(constraint["column_names"]), None))
    integer_key = [c for c in columns if c["name"] in primary_key and _is_integer(c["type"])]
    return LedgerShape(
        tuple(c["name"] for c in columns),
        primary_key,
        tuple(sorted(set(unique), key=str)),
        len(primary_key) == 1 and len(integer_key) == 1,
    )


def _is_integer(type_: Any) -> bool:
    return isinstance(type_, sa.Integer) and str(type_).upper() == "INTEGER"


def guard_triggers(dialect: str, table: str, shape: LedgerShape | None = None) -> dict[str, str]:
    """The triggers that keep a ledger append-only on a dialect: name -> CREATE statement
    (SQLite's need the table's shape). Table and column names are snake_case, validated by
    the compiler."""
    if dialect == "sqlite":
        triggers = {
            f"{table}_no_{operation.lower()}": (
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE} {table}'); END"
            )
            for operation in ("UPDATE", "DELETE")
        }
        if shape is not None:
            triggers.update(_no_replace(table, shape))
        return triggers
    if dialect == "postgresql":
        return {
            f"{table}_append_only": f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR "
            f"DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION ecm_append_only()",
            f"{table}_no_truncate": f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON "
            f"{table} FOR EACH STATEMENT EXECUTE FUNCTION ecm_append_only()",
            f"{table}_notify": f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ecm_notify_ledger()",
            # The inserting transaction, whatever the writer gives: a reader's position.
            f"{table}_position": f"CREATE TRIGGER {table}_position BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ecm_position()",
        }
    return {}


def _no_replace(table: str, shape: LedgerShape) -> dict[str, str]:
    """SQLite's guard against REPLACE: an insert whose key another row holds is refused
    before SQLite's conflict resolution can delete that row."""
    taken = [_holds(table, shape.primary_key, None, shape)] if shape.primary_key else []
    taken += [_holds(table, columns, where, shape) for columns, where in shape.unique]
    triggers = {
        f"{table}_no_replace": f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN {' OR '.join(taken) or 'false'} "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE} {table}: {KEY_TAKEN}'); END"
    }
    if shape.numbered:
        (key,) = shape.primary_key
        triggers[f"{table}_numbered"] = (
            f"CREATE TRIGGER {table}_numbered AFTER INSERT ON {table} WHEN NEW.{key} <= 0 "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE} {table}: {key} must be "
            "positive'); END"
        )
    return triggers


def _holds(table: str, columns: tuple[str, ...], where: str | None, shape: LedgerShape) -> str:
    """SQL: another row holds NEW's values of this key (NULLs never equal: SQLite's unique
    semantics); for a partial index, both rows are in it."""
    equal = " AND ".join(f"{c} = NEW.{c}" for c in columns)
    if where is None:
        return f"EXISTS (SELECT 1 FROM {table} WHERE {equal})"
    # The index's own WHERE text, over a one-row projection of NEW and over the table.
    new_row = ", ".join(f"NEW.{c} AS {c}" for c in shape.columns)
    return (
        f"(EXISTS (SELECT 1 FROM (SELECT {new_row}) WHERE {where}) "
        f"AND EXISTS (SELECT 1 FROM {table} WHERE {equal} AND ({where})))"
    )


def guard_statements(dialect: str, table: str, shape: LedgerShape | None = None) -> list[str]:
    """Everything that makes a ledger append-only, in order (functions first), as plain SQL."""
    functions = [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$"
        for name, body in PG_FUNCTIONS.items()
        if dialect == "postgresql"
    ]
    if dialect == "postgresql":
        # Rows from before the position trigger (a migrated ledger) come first in the log.
        functions.append(
            f"UPDATE {table} SET {POSITION_COLUMN} = 0 WHERE {POSITION_COLUMN} IS NULL"
        )
    return functions + list(guard_triggers(dialect, table, shape).values())


def install_guard(connection: Connection, table: str) -> None:
    """Install a ledger's guard on the live table (its indexes already made)."""
    dialect = connection.dialect.name
    shape = ledger_shape(connection, table) if dialect == "sqlite" else None
    for statement in guard_statements(dialect, table, shape):
        connection.execute(ddl(statement))


def ddl(statement: str) -> sa.DDL:
    # DDL() applies %-formatting: a literal % is written %%.
    return sa.DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]  # untyped upstream


# --- what the live database has ---------------------------------------------------------------


def guard_problems(connection: Connection, tables: Iterable[str]) -> dict[str, str]:
    """Table -> what is wrong with its guard, for each of `tables` whose guard is not exactly
    in place: a missing, disabled or rewritten trigger (or trigger function)."""
    dialect = connection.dialect.name
    live = live_trigger_sql(connection)
    broken_functions = _rewritten_functions(connection) if dialect == "postgresql" else []
    problems: dict[str, str] = {}
    existing = set(sa.inspect(connection).get_table_names())
    for table in sorted(tables):
        if table not in existing:
            problems[table] = "the table is new"
            continue
        shape = ledger_shape(connection, table) if dialect == "sqlite" else None
        found = live.get(table, {})
        for name, statement in guard_triggers(dialect, table, shape).items():
            if name not in found:
                problems[table] = f"trigger {name} is missing"
                break
            sql, enabled = found[name]
            if not enabled:
                problems[table] = f"trigger {name} is disabled"
                break
            if dialect == "sqlite" and _normal(sql) != _normal(statement):
                problems[table] = f"trigger {name} is not the guard's definition"
                break
        else:
            if broken_functions and found:
                problems[table] = f"trigger function {broken_functions[0]} is rewritten"
    return problems


def live_triggers(connection: Connection) -> dict[str, set[str]]:
    """Table -> the names of its triggers, in the connection's schema."""
    return {table: set(found) for table, found in live_trigger_sql(connection).items()}


def live_trigger_sql(connection: Connection) -> dict[str, dict[str, tuple[str, bool]]]:
    """Table -> trigger name -> (its definition, whether it fires)."""
    if connection.dialect.name == "sqlite":
        query = "SELECT tbl_name, name, sql, 1 FROM sqlite_master WHERE type = 'trigger'"
    elif connection.dialect.name == "postgresql":
        # 'O' fires in the normal (origin) mode, 'A' always; 'D' is disabled and 'R' fires only
        # under session_replication_role = replica.
        query = (
            "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled IN ('O', 'A') "
            "FROM pg_trigger t JOIN pg_class c ON t.tgrelid = c.oid "
            "JOIN pg_namespace n ON c.relnamespace = n.oid "
            "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
        )
    else:
        return {}
    found: dict[str, dict[str, tuple[str, bool]]] = {}
    for table, trigger, sql, enabled in connection.exec_driver_sql(query):
        found.setdefault(str(table), {})[str(trigger)] = (str(sql), bool(enabled))
    return found


def _rewritten_functions(connection: Connection) -> list[str]:
    """The guard's trigger functions whose body is not the guard's (or that are missing)."""
    query = (
        "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n "
        "ON p.pronamespace = n.oid WHERE n.nspname = current_schema() AND p.proname IN "
        "('ecm_append_only', 'ecm_notify_ledger', 'ecm_position')"
    )
    bodies = {str(name): str(src) for name, src in connection.exec_driver_sql(query)}
    return [
        name
        for name, body in PG_FUNCTIONS.items()
        if _normal(bodies.get(name, "")) != _normal(body)
    ]


def _normal(sql: str) -> str:
    return " ".join(sql.split())
