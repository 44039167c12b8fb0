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
    return DDL(statement)  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy itself


_PG_FUNCTION = _ddl(
    "CREATE OR REPLACE FUNCTION ecm_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    # DDL() applies %-formatting: %% is the plpgsql placeholder.
    f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} %%', TG_TABLE_NAME "
    "USING ERRCODE = 'restrict_violation'; END $$"
)


NOTIFY_CHANNEL = "ecm_ledger"
_PG_NOTIFY_FUNCTION = _ddl(
    "CREATE OR REPLACE FUNCTION ecm_notify_ledger() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
)


def ledger_tables(metadata: MetaData) -> list[Table]:
    return [t for t in metadata.sorted_tables if facts(t).truth_type == TruthType.LEDGER]


def install_append_only(metadata: MetaData) -> None:
    """Attach the append-only triggers to every LEDGER table of `metadata` (once)."""
    for table in ledger_tables(metadata):
        if table.info.get("ecm_append_only_installed"):
            continue
        table.info["ecm_append_only_installed"] = True
        name = table.name  # validated snake_case by the compiler
        for operation in ("UPDATE", "DELETE"):
            event.listen(
                table,
                "after_create",
                _ddl(
                    f"CREATE TRIGGER {name}_no_{operation.lower()} BEFORE {operation} ON {name} "
                    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE} {name}'); END"
                ).execute_if(dialect="sqlite"),
            )
        for function in (_PG_FUNCTION, _PG_NOTIFY_FUNCTION):
            event.listen(table, "after_create", function.execute_if(dialect="postgresql"))
        for statement in (
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
            "FOR EACH ROW EXECUTE FUNCTION ecm_append_only()",
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ecm_append_only()",
            f"CREATE TRIGGER {name}_notify AFTER INSERT ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ecm_notify_ledger()",
        ):
            event.listen(table, "after_create", _ddl(statement).execute_if(dialect="postgresql"))
