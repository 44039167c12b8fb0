"""Schema installation: the generated tables plus what SQLAlchemy tables cannot say.

Append-only ledgers are enforced by the database, not by Python: triggers refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL) on every LEDGER table. On PostgreSQL a statement-level
trigger also sends NOTIFY on NOTIFY_CHANNEL, with the ledger's name as payload, so an event
log's tail wakes when events commit. The triggers hang on the tables' `after_create` events,
so anything that creates the tables from the metadata installs them.
"""

from __future__ import annotations

from ecm_contract import TruthType
from sqlalchemy import DDL, MetaData, Table, event

from ecm_runtime.facts import facts

APPEND_ONLY_MESSAGE = "ecm append-only table"


def _ddl(statement: str) -> DDL:
    # DDL() applies %-formatting: a literal % is written %%.
    return DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]  # untyped upstream


NOTIFY_CHANNEL = "ecm_ledger"
_PG_FUNCTIONS = (
    "CREATE OR REPLACE FUNCTION ecm_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} %', TG_TABLE_NAME "
    "USING ERRCODE = 'restrict_violation'; END $$",
    "CREATE OR REPLACE FUNCTION ecm_notify_ledger() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$",
)


def guard_triggers(dialect: str, table: str) -> dict[str, str]:
    """The triggers that keep a ledger append-only on a dialect: name -> CREATE statement.
    Table names are snake_case, validated by the compiler."""
    if dialect == "sqlite":
        return {
            f"{table}_no_{operation.lower()}": (
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE} {table}'); END"
            )
            for operation in ("UPDATE", "DELETE")
        }
    if dialect == "postgresql":
        return {
            f"{table}_append_only": f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR "
            f"DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION ecm_append_only()",
            f"{table}_no_truncate": f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON "
            f"{table} FOR EACH STATEMENT EXECUTE FUNCTION ecm_append_only()",
            f"{table}_notify": f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ecm_notify_ledger()",
        }
    return {}


def guard_statements(dialect: str, table: str) -> list[str]:
    """Everything that makes a ledger append-only, in order (functions first), as plain SQL."""
    functions = list(_PG_FUNCTIONS) if dialect == "postgresql" else []
    return functions + list(guard_triggers(dialect, table).values())


def ledger_tables(metadata: MetaData) -> list[Table]:
    """The LEDGER tables of a generated package's metadata (the runtime's own tables, which
    state no truth type, are none)."""
    return [
        t
        for t in metadata.sorted_tables
        if "truth_type" in t.info and facts(t).truth_type == TruthType.LEDGER
    ]


def install_append_only(metadata: MetaData) -> None:
    """Attach the append-only triggers to every LEDGER table of `metadata` (once)."""
    for table in ledger_tables(metadata):
        if table.info.get("ecm_append_only_installed"):
            continue
        table.info["ecm_append_only_installed"] = True
        for dialect in ("sqlite", "postgresql"):
            for statement in guard_statements(dialect, table.name):
                event.listen(table, "after_create", _ddl(statement).execute_if(dialect=dialect))
