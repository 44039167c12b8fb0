"""Least privilege on PostgreSQL: the role a service runs as may append to the ledgers and
read them, and write the tables that are meant to change, but owns nothing, so it can
neither disable a ledger's guard triggers (`ALTER TABLE ... DISABLE TRIGGER` needs the
owner) nor rewrite a row the triggers would refuse (it holds no UPDATE or DELETE on a
ledger at all). The migrations run as the owner and grant this role what it needs, every
time they run, so a table added later is granted too.

SQLite has no roles: whoever can write the file can do anything to it, which is what the
ledgers' chains and signed checkpoints are for (chain_check.py).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from ecm_contract import TruthType
from sqlalchemy.engine import Connection
from sqlalchemy.sql.compiler import IdentifierPreparer

from ecm_runtime.confinement import HANDLER_ROLE
from ecm_runtime.facts import facts

APP_ROLE = "ecm_app"
"""The application role the migrations grant, unless told another (`ECM_APP_ROLE`)."""

_LEDGER = "SELECT, INSERT"
_STATE = "SELECT, INSERT, UPDATE, DELETE"
_RUNTIME = "SELECT, INSERT, UPDATE, DELETE"
"""The runtime's own tables (outcomes, chain heads, budgets) are its bookkeeping: claims are
released, heads move on. None of them is a record anybody audits."""


def grants(
    tables: Iterable[sa.Table], role: str, schema: str, preparer: IdentifierPreparer
) -> list[str]:
    """The statements that make `role` (created if missing, without login: a service's login
    role is granted it) able to run the runtime on `tables` in `schema`, and no more. It is
    a member of ecm_handler, to run handlers as it, but NOINHERIT: it holds none of that
    role's privileges itself."""
    quoted, in_schema = preparer.quote(role), preparer.quote_schema(schema)
    named = "'" + role.replace("'", "''") + "'"
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {named}) "
        f"THEN CREATE ROLE {quoted} NOLOGIN NOINHERIT; END IF; END $$",
        f"GRANT USAGE ON SCHEMA {in_schema} TO {quoted}",
    ]
    for table in sorted(tables, key=lambda t: t.name):
        target = preparer.format_table(table)
        statements.append(f"GRANT {_privileges(table)} ON {target} TO {quoted}")
        if "truth_type" in table.info:
            # Row-level security denies every role no policy names: the runtime's own role
            # sees what the owner sees (it keeps tenants apart itself); handlers run as
            # ecm_handler, which the policies of schema.py confine.
            policy = preparer.quote(f"ecm_runtime_{role}")
            statements.append(f"DROP POLICY IF EXISTS {policy} ON {target}")
            statements.append(
                f"CREATE POLICY {policy} ON {target} TO {quoted} USING (true) WITH CHECK (true)"
            )
    statements.append(f"GRANT {HANDLER_ROLE} TO {quoted}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {in_schema} TO {quoted}")
    return statements


def _privileges(table: sa.Table) -> str:
    if "truth_type" not in table.info:
        return _RUNTIME
    return _LEDGER if facts(table).truth_type is TruthType.LEDGER else _STATE


def grant_application_role(connection: Connection, tables: Iterable[sa.Table], role: str) -> None:
    """Grant the application role its privileges (PostgreSQL; nothing to do on SQLite)."""
    if connection.dialect.name != "postgresql":
        return
    schema = str(connection.exec_driver_sql("SELECT current_schema()").scalar())
    preparer = connection.dialect.identifier_preparer
    existing = set(sa.inspect(connection).get_table_names())  # a migration not yet written
    tables = [t for t in tables if t.name in existing]
    for statement in grants(tables, role, schema, preparer):
        connection.exec_driver_sql(statement)
