"""Schema installation: the generated tables plus what SQLAlchemy tables cannot say.

Append-only ledgers are enforced by the database, not by Python: every LEDGER table gets the
append-only guard of guards.py (triggers that refuse UPDATE, DELETE, TRUNCATE and SQLite's
REPLACE, and on PostgreSQL the NOTIFY an event log's tail wakes on).

On PostgreSQL every table also gets row-level security for the role handlers' statements run
as (confinement.py): a tenant's rows only, and writes only by the engine that owns the table.
The runtime's own role (the tables' owner) is not subject to it.

The triggers and policies hang on the tables' `after_create` events (the role on the
metadata's `before_create`), so anything that creates the tables from the metadata installs
them.
"""

from __future__ import annotations

from typing import Any

from ecm_contract import TruthType
from sqlalchemy import MetaData, Table, event
from sqlalchemy.engine import Connection

from ecm_runtime.confinement import ENGINE_SETTING, HANDLER_ROLE, TENANT_SETTING
from ecm_runtime.facts import facts
from ecm_runtime.guards import ddl, install_guard


def ledger_tables(metadata: MetaData) -> list[Table]:
    """The LEDGER tables of a generated package's metadata (the runtime's own tables, which
    state no truth type, are none)."""
    return [
        t
        for t in metadata.sorted_tables
        if "truth_type" in t.info and facts(t).truth_type == TruthType.LEDGER
    ]


def install_append_only(metadata: MetaData) -> None:
    """Attach the append-only guard to every LEDGER table of `metadata` (once)."""
    for table in ledger_tables(metadata):
        if table.info.get("ecm_append_only_installed"):
            continue
        table.info["ecm_append_only_installed"] = True
        event.listen(table, "after_create", _guard_after_create)


def _guard_after_create(table: Table, connection: Connection, **_: Any) -> None:
    # After the table's indexes: the SQLite guard reads the keys it protects from the table.
    install_guard(connection, table.name)


_CREATE_HANDLER_ROLE = (
    "DO $$ BEGIN "
    f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{HANDLER_ROLE}') THEN "
    f"CREATE ROLE {HANDLER_ROLE} NOLOGIN NOSUPERUSER NOINHERIT NOBYPASSRLS; END IF; "
    # Concurrent installers race to create the role: the loser finds it made.
    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    f"DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO {HANDLER_ROLE}', "
    "current_schema()); END $$",
)
"""The role handlers' statements run as; the session's own user may take it (as superuser,
or as its creator)."""


def row_security_statements(table: Table) -> list[str]:
    """What confines a handler's statements on a PostgreSQL table: its tenant's rows, writes
    by the owning engine only. Table and column names are snake_case, validated by the
    compiler; the engine id is quoted as a literal."""
    name, known = table.name, facts(table)
    tenant = known.tenant_column
    engine = known.engine_id.replace("'", "''")
    rows = (
        f"{tenant} IS NOT DISTINCT FROM NULLIF(current_setting('{TENANT_SETTING}', true), '')"
        if tenant
        else "true"
    )
    # The restrictive policies bind a handler's statements (current_user is ecm_handler, a
    # role it cannot leave); a role that is only a member of it, like the application role
    # of privileges.py that takes it for handlers, is not bound by them itself.
    owner = (
        f"(current_user <> '{HANDLER_ROLE}' "
        f"OR current_setting('{ENGINE_SETTING}', true) = '{engine}')"
    )
    statements = [
        f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {HANDLER_ROLE}",
        f"CREATE POLICY ecm_rows ON {name} TO {HANDLER_ROLE} USING ({rows})",
        f"CREATE POLICY ecm_insert ON {name} AS RESTRICTIVE FOR INSERT TO {HANDLER_ROLE} "
        f"WITH CHECK ({owner})",
        f"CREATE POLICY ecm_update ON {name} AS RESTRICTIVE FOR UPDATE TO {HANDLER_ROLE} "
        f"USING ({owner}) WITH CHECK ({owner})",
        f"CREATE POLICY ecm_delete ON {name} AS RESTRICTIVE FOR DELETE TO {HANDLER_ROLE} "
        f"USING ({owner})",
    ]
    if known.identity:
        statements.append(
            f"DO $$ BEGIN EXECUTE format('GRANT USAGE ON SEQUENCE %s TO {HANDLER_ROLE}', "
            f"pg_get_serial_sequence('{name}', '{known.identity}')); END $$"
        )
    return statements


def install_row_security(metadata: MetaData) -> None:
    """Attach the handler role and every table's row-level security to `metadata` (once)."""
    if metadata.info.get("ecm_row_security_installed"):
        return
    metadata.info["ecm_row_security_installed"] = True
    for statement in _CREATE_HANDLER_ROLE:
        event.listen(metadata, "before_create", ddl(statement).execute_if(dialect="postgresql"))
    for table in metadata.sorted_tables:
        if "truth_type" not in table.info:
            continue
        for statement in row_security_statements(table):
            event.listen(table, "after_create", ddl(statement).execute_if(dialect="postgresql"))
