"""Alembic for the generated schema: what a migration environment (`env.py`) needs so that
autogenerate writes migrations that run, and migrated ledgers stay append-only.

In `env.py`, configure the context with `options(package)`:

    from ecm_runtime.migrations import options
    context.configure(connection=connection, **options("selene_ecm"))

`options` gives the target metadata (the package's tables and the runtime's own), a renderer
that writes the runtime's column types as importable constructor calls, batch mode (SQLite
alters tables by copying them), and, through the comparator this module registers, the
append-only guards of every LEDGER table: autogenerate emits `op.create_append_only_guard`
for a ledger whose triggers are missing (a new ledger, a hand-dropped trigger) and
`op.drop_append_only_guard` for a table that is no longer a ledger.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import comparators, compare_metadata, renderers
from alembic.autogenerate.api import AutogenContext
from alembic.migration import MigrationContext
from alembic.operations import MigrateOperation, Operations
from alembic.operations.ops import UpgradeOps
from alembic.util import DispatchPriority
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from ecm_runtime.check_constraints import check_problems
from ecm_runtime.guards import guard_problems, guard_triggers, install_guard, live_triggers
from ecm_runtime.outcomes import metadata as runtime_metadata
from ecm_runtime.privileges import APP_ROLE, grant_application_role
from ecm_runtime.schema import ledger_tables
from ecm_runtime.sqltypes import UnsignedDecimal

_CAST = re.compile(r"::\w+(?: (?:with|without|time|zone|varying|precision))*")
"""A cast PostgreSQL adds to a stored DEFAULT (`'3'::bigint`, `'x'::character varying`)."""
_DEFAULT_NOISE = re.compile(r"[\s()'\"]")

GUARD = "append_only_guard"


def target_metadata(package: str) -> list[sa.MetaData]:
    """The package's tables and the runtime's own: everything `create_schema` builds."""
    tables = importlib.import_module(f"{package}.tables")
    return [tables.metadata, runtime_metadata]


def options(package: str) -> dict[str, Any]:
    """Keyword arguments for `context.configure(...)` in an Alembic `env.py`."""
    return {
        "target_metadata": target_metadata(package),
        "render_item": render_item,
        "render_as_batch": True,
        "compare_type": True,
    }


def grant_application(connection: Connection, package: str) -> None:
    """After the migrations, as their owner: grant the application role (`ECM_APP_ROLE`,
    default `ecm_app`; empty: none) what the runtime needs and no more (privileges.py)."""
    role = os.environ.get("ECM_APP_ROLE", APP_ROLE)
    if role:
        tables = [t for m in target_metadata(package) for t in m.sorted_tables]
        grant_application_role(connection, tables, role)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """The runtime's column types as constructor calls the migration imports; everything
    else as Alembic renders it."""
    if type_ == "type" and isinstance(obj, UnsignedDecimal):
        autogen_context.imports.add("import ecm_runtime.sqltypes")
        return f"ecm_runtime.sqltypes.UnsignedDecimal({obj.digits})"
    if type_ == "type" and isinstance(obj, JSONB):
        # Alembic's own repr names its text type bare (`Text()`), which nothing imports.
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "postgresql.JSONB()"
    return False


# --- the append-only guard as a migration operation ----------------------------------------


@Operations.register_operation("create_append_only_guard")
class CreateAppendOnlyGuardOp(MigrateOperation):
    """Install the triggers that make a ledger refuse UPDATE, DELETE and REPLACE."""

    def __init__(self, table_name: str, reason: str = "") -> None:
        self.table_name = table_name
        self.reason = reason
        """Why autogenerate asks for it (a missing, disabled or rewritten trigger)."""

    @classmethod
    def create_append_only_guard(cls, operations: Operations, table_name: str) -> None:
        operations.invoke(cls(table_name))

    def reverse(self) -> DropAppendOnlyGuardOp:
        return DropAppendOnlyGuardOp(self.table_name)

    def to_diff_tuple(self) -> tuple[str, ...]:
        return (f"add_{GUARD}", self.table_name, *([self.reason] if self.reason else []))


@Operations.register_operation("drop_append_only_guard")
class DropAppendOnlyGuardOp(MigrateOperation):
    """Remove a ledger's append-only triggers (it is no longer a ledger)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @classmethod
    def drop_append_only_guard(cls, operations: Operations, table_name: str) -> None:
        operations.invoke(cls(table_name))

    def reverse(self) -> CreateAppendOnlyGuardOp:
        return CreateAppendOnlyGuardOp(self.table_name)

    def to_diff_tuple(self) -> tuple[str, str]:
        return (f"remove_{GUARD}", self.table_name)


@Operations.implementation_for(CreateAppendOnlyGuardOp)
def _create_guard(operations: Operations, operation: CreateAppendOnlyGuardOp) -> None:
    # Whatever part of the guard survives (a hand-dropped trigger) is replaced whole; SQLite's
    # guard reads the keys it protects from the table as this migration leaves it.
    _drop_guard(operations, DropAppendOnlyGuardOp(operation.table_name))
    install_guard(operations.get_bind(), operation.table_name)


@Operations.implementation_for(DropAppendOnlyGuardOp)
def _drop_guard(operations: Operations, operation: DropAppendOnlyGuardOp) -> None:
    dialect = operations.get_context().dialect.name
    for trigger in _every_guard_trigger(dialect, operation.table_name):
        on = f" ON {operation.table_name}" if dialect == "postgresql" else ""
        operations.execute(f"DROP TRIGGER IF EXISTS {trigger}{on}")


def _every_guard_trigger(dialect: str, table: str) -> list[str]:
    """The names of every trigger a guard may have (SQLite's REPLACE guards included)."""
    extra = [f"{table}_no_replace", f"{table}_numbered"] if dialect == "sqlite" else []
    return [*guard_triggers(dialect, table), *extra]


@renderers.dispatch_for(CreateAppendOnlyGuardOp)
def _render_create(autogen_context: AutogenContext, op: CreateAppendOnlyGuardOp) -> str:
    autogen_context.imports.add("import ecm_runtime.migrations  # registers the guard ops")
    return f"op.create_append_only_guard({op.table_name!r})"


@renderers.dispatch_for(DropAppendOnlyGuardOp)
def _render_drop(autogen_context: AutogenContext, op: DropAppendOnlyGuardOp) -> str:
    autogen_context.imports.add("import ecm_runtime.migrations  # registers the guard ops")
    return f"op.drop_append_only_guard({op.table_name!r})"


# After the table comparators, so a new ledger is created before its guard is installed.
@comparators.dispatch_for("schema", priority=DispatchPriority.LAST)
def _compare_guards(
    autogen_context: AutogenContext, upgrade_ops: UpgradeOps, schemas: Iterable[str | None]
) -> None:
    """Ledgers of the metadata without their guard get one; guarded tables of the metadata
    that are no longer ledgers lose theirs. (A dropped table takes its triggers with it.)"""
    connection = autogen_context.connection
    if connection is None or autogen_context.metadata is None:
        return
    metadata = autogen_context.metadata
    all_metadata = [metadata] if isinstance(metadata, sa.MetaData) else list(metadata)
    ledgers = {t.name for m in all_metadata for t in ledger_tables(m)}
    others = {t.name for m in all_metadata for t in m.tables.values()} - ledgers
    problems = guard_problems(connection, ledgers)
    for name in sorted(problems):
        upgrade_ops.ops.append(CreateAppendOnlyGuardOp(name, problems[name]))
    live = live_triggers(connection)
    for name in sorted(others):
        if set(_every_guard_trigger(connection.dialect.name, name)) & live.get(name, set()):
            upgrade_ops.ops.append(DropAppendOnlyGuardOp(name))


# --- the live database against what create_schema builds ------------------------------------


def schema_problems(connection: Connection, metadata: list[sa.MetaData]) -> list[str]:
    """Every way the live schema differs from `metadata`, as Alembic's autogenerate (with the
    append-only guards) sees it, and the CHECKs it does not compare: missing tables, columns,
    indexes, keys, triggers, changed types, nullability, server defaults and checks. Tables
    the metadata does not name are someone else's: ignored. Comments are documentation, not
    a rule a row must keep: not compared."""
    context = MigrationContext.configure(
        connection,
        opts={
            "render_item": render_item,
            "compare_type": True,
            "compare_server_default": _default_differs,
            "include_object": _ours,
        },
    )
    diffs = [d for d in compare_metadata(context, metadata) if not _is_comment(d)]  # type: ignore[arg-type]
    found = [_describe(diff) for diff in _without_renamed_kinds(diffs)]
    return found + check_problems(connection, metadata)


def _default_differs(
    context: Any, inspected: Any, column: Any, live: str | None, declared: Any, rendered: str | None
) -> bool:
    """Whether a column's live DEFAULT is another than the metadata's, compared as SQL text
    less what each database adds when it stores one (casts, parentheses, quotes, case).
    Alembic's own comparison evaluates both in one SELECT, which fails when the column's
    type changed too (a TIMESTAMPTZ `now()` beside a text clock): that is a difference."""
    return _default_text(live) != _default_text(rendered)


def _default_text(sql: str | None) -> str:
    return _DEFAULT_NOISE.sub("", _CAST.sub("", sql or "")).lower()


def _is_comment(diff: Any) -> bool:
    if isinstance(diff, list):
        return all(_is_comment(item) for item in diff)
    return "comment" in str(diff[0])


def _without_renamed_kinds(diffs: list[Any]) -> list[Any]:
    """The diffs less a unique constraint the database holds where the metadata declares a
    unique index of the same name and columns (or the other way round): PostgreSQL enforces
    both with one unique index, so they refuse the same rows."""

    def signature(item: Any) -> tuple[str, tuple[str, ...]] | None:
        unique = isinstance(item, sa.UniqueConstraint) or (
            isinstance(item, sa.Index) and item.unique
        )
        if not unique or item.name is None:
            return None
        return str(item.name), tuple(c.name for c in item.columns)

    def key(diff: Any) -> tuple[str, tuple[str, ...]] | None:
        if isinstance(diff, list) or len(diff) < 2:
            return None
        return signature(diff[1])

    added = {key(d) for d in diffs if not isinstance(d, list) and d[0].startswith("add_")}
    removed = {key(d) for d in diffs if not isinstance(d, list) and d[0].startswith("remove_")}
    both = (added & removed) - {None}
    return [d for d in diffs if key(d) not in both]


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and reflected and compare_to is None)


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe(item) for item in diff)
    kind, *rest = diff
    shown = []
    for item in rest:
        if isinstance(item, sa.ForeignKeyConstraint):
            targets = ", ".join(e.target_fullname for e in item.elements)
            shown.append(
                f"foreign key {item.table.name}({', '.join(item.column_keys)}) -> {targets}"
            )
        elif isinstance(item, sa.Index | sa.Constraint) and item.table is not None:
            shown.append(f"{type(item).__name__.lower()} {item.name} on {item.table.name}")
        elif isinstance(item, sa.DefaultClause):
            arg = item.arg
            shown.append(f"default {arg.text if isinstance(arg, sa.TextClause) else arg}")
        elif isinstance(item, sa.Table | sa.Index | sa.Column | sa.Constraint):
            shown.append(f"{type(item).__name__.lower()} {item.name}")
        elif item is not None and not isinstance(item, dict):
            shown.append(str(item))
    return f"{kind}: {' '.join(shown)}"
