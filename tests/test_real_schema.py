"""The imported schema is the real one (issue 25, point 3): a PostgreSQL database built by the
26 real migrations, checked by `verify_schema()` against the package ecmc drafts from them.
Every difference it reports is one ecmc makes on purpose and says so where it makes it (the
table's description, the skipped statements); anything else fails."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import psycopg
import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime

from ecmc.adopt.sql import SqlSchema
from ecmc.ir import Program
from storage import postgres_url
from test_sql_import import MIGRATIONS, drafted, every_table, schema

__all__ = ["every_table", "schema"]  # the fixtures this module shares


@pytest.fixture(scope="module")
def migrated() -> Iterator[str]:
    """A PostgreSQL schema of its own, built by running the migrations in order."""
    for url in postgres_url():
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            for path in sorted(MIGRATIONS.glob("*.sql")):
                # Each file whole, as psql runs it: $$ bodies and DO blocks included.
                driver.execute(path.read_text(encoding="utf-8").encode())
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def problems(migrated: str, every_table: str) -> list[str]:
    runtime = Runtime.open(migrated, package=every_table, create=False)
    try:
        return runtime.verify_schema()
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def program(schema: SqlSchema) -> Program:
    return drafted(list(schema.tables.values())).program


Reason = Callable[[re.Match[str], Program, SqlSchema, list[str]], bool]


def _said(table: str, words: str) -> Reason:
    """The table's drafted description says `words` (with {1}, {2} the match's groups)."""

    def check(found: re.Match[str], program: Program, schema: SqlSchema, _: list[str]) -> bool:
        described = {t.name: t.description for t in program.tables}[found.expand(table)]
        return found.expand(words) in described

    return check


def _always(*_: object) -> bool:
    return True


def _enum_column(found: re.Match[str], program: Program, *_: object) -> bool:
    table = {t.name: t for t in program.tables}[found.group(1)]
    return {c.name: c.type.base for c in table.columns}[found.group(2)] == "enum"


def _skipped_index(found: re.Match[str], _: Program, schema: SqlSchema, __: list[str]) -> bool:
    return any(found.group(1) in s.statement for s in schema.skipped)


def _scoped_reference(
    found: re.Match[str], program: Program, schema: SqlSchema, all_: list[str]
) -> bool:
    """A reference the package names within the tenant: the same columns, the tenant first."""
    table, columns = found.group(1), found.group(2)
    return any(p.startswith(f"add_fk: foreign key {table}(tenant_id, {columns})") for p in all_)


def _checked_elsewhere(
    found: re.Match[str], program: Program, schema: SqlSchema, _: list[str]
) -> bool:
    """A database CHECK ecmc does not emit: a bound the model checks on each call (the column
    is bounded), or one the import did not read, named with its file and line."""
    table = {t.name: t for t in program.tables}[found.group(1)]
    columns = [c.strip() for c in found.group(3).split(",")]
    named = any(
        s.why == f"a check of {table.name}" and all(c in s.statement for c in columns)
        for s in schema.skipped
    )
    typed = {c.name: c.type for c in table.columns}
    bounded = len(columns) == 1 and any(
        b is not None for b in (typed[columns[0]].minimum, typed[columns[0]].maximum)
    )
    return named or bounded


DELIBERATE: list[tuple[str, str, Reason]] = [
    (r"add_table: table (ecm_\w+)", "the runtime's own table (its migration adds it)", _always),
    (r"add_column: \w+ column ecm_xact", "a ledger's position column, the runtime's", _always),
    (
        r"add_column: \w+ column ecm_chain_(seq|digest)",
        "a ledger's chain columns, the runtime's",
        _always,
    ),
    (r"add_index: index ix_\w+_position on \w+", "a ledger's position index", _always),
    (
        r"add_append_only_guard: .*",
        "the runtime's append-only triggers, not in the migrations",
        _always,
    ),
    (
        r"add_column: (audit_events) column (payload_digest)",
        "the audit envelope column only the runtime writes",
        _said(r"\1", r"\2 added"),
    ),
    (
        r"modify_type: (\w+) (\w+) TEXT VARCHAR\(\d+\)",
        "an enum column is VARCHAR(longest label) with its CHECK; the database's TEXT with the "
        "same CHECK holds the same values",
        _enum_column,
    ),
    (
        r"modify_type: \w+ \w+ SMALLINT INTEGER",
        "ecmc stores ints in INTEGER or BIGINT; the model bounds the value to SMALLINT's range",
        _always,
    ),
    (
        r"modify_type: (\w+) created_at TIMESTAMP TEXT"
        r"(?:; modify_default: \1 created_at default now\(\) default utc_now_text\(\))?",
        "ecmc has no time type: a TIMESTAMPTZ column is a string field, stored as text, and its "
        "now() default the same clock as ISO-8601 text",
        _always,
    ),
    (
        r"add_index: index \w+_system on \w+",
        "a key's companion for rows of no tenant (a NULL tenant is no value to be unique by)",
        _always,
    ),
    (
        r"(?:remove|add)_index: index (\w+) on (\w+)",
        "a key the tenant was added to (ECM074)",
        _said(r"\2", r"\1"),
    ),
    (
        r"remove_constraint: uniqueconstraint (\w+) on (\w+)",
        "a unique constraint the tenant was added to (ECM074)",
        _said(r"\2", r"\1"),
    ),
    (
        r"remove_index: index (\w+) on \w+",
        "an index on expressions, skipped and named",
        _skipped_index,
    ),
    (
        r"remove_fk: foreign key (\w+)\(([\w, ]+)\) -> .*",
        "a reference made within the tenant",
        _scoped_reference,
    ),
    (
        r"remove_fk: foreign key (\w+)\(([\w, ]+)\) -> .*",
        "a reference left out, said so in the table's description",
        _said(r"\1", r"foreign key \2 -> "),
    ),
    (r"add_fk: foreign key \w+\(tenant_id, .*", "a reference made within the tenant", _always),
    (
        r"modify_nullable: (\w+) (tenant_id) True False",
        "a tenant column the primary key holds, made NOT NULL and said so",
        _said(r"\1", r"\2 made NOT NULL"),
    ),
    (
        r"remove_check: (\w+) \w+ \((\w+):.*",
        "a CHECK whose labels no enum can name: the column is a string, said so",
        _said(r"\1", r"the CHECK on \2"),
    ),
    (
        r"remove_check: (\w+) (\w+) \(([\w, ]+):.*",
        "a CHECK the model keeps, or one the import names as not read",
        _checked_elsewhere,
    ),
]


def _explained(
    problem: str, program: Program, schema: SqlSchema, problems: list[str]
) -> str | None:
    for pattern, why, holds in DELIBERATE:
        found = re.fullmatch(pattern, problem)
        if found is not None and holds(found, program, schema, problems):
            return why
    return None


def test_verify_schema_against_the_real_migrations_reports_only_named_differences(
    problems: list[str], program: Program, schema: SqlSchema
) -> None:
    unexplained = [p for p in problems if _explained(p, program, schema, problems) is None]
    assert unexplained == [], "\n".join(unexplained)
    # Each named class still occurs: a list of excuses for what no longer happens is stale.
    reasons = {_explained(p, program, schema, problems) for p in problems}
    assert reasons == {why for _, why, _ in DELIBERATE}


def test_what_the_real_schema_holds_the_package_holds_too(problems: list[str]) -> None:
    """Defaults, DESC order, partial business guards, composite and non-serial keys and
    every enum CHECK come through: none of them is among the differences."""
    text = "\n".join(problems)
    defaults = [p for p in problems if "_default" in p]
    assert all(p.endswith("default now() default utc_now_text()") for p in defaults), defaults
    assert "ix_sessions_user_state_last_activity" not in text  # (..., last_activity_at DESC)
    assert "ux_wake_profile_bindings_active_user_device" not in text  # WHERE active = TRUE
    assert "ux_wake_enrollment_sessions_active_user_device" not in text  # WHERE status = '...'
    assert not [p for p in problems if p.startswith(("add_check", "modify_check"))]
    assert not [p for p in problems if " sessions " in p]  # session_id BIGINT, not SERIAL


def test_a_check_that_allows_other_values_is_a_difference(migrated: str, every_table: str) -> None:
    """The CHECK comparison sees labels: the database's CHECK widened by hand is reported."""
    runtime = Runtime.open(migrated, package=every_table, create=False)
    replace = (
        "ALTER TABLE access_overrides DROP CONSTRAINT access_overrides_status_check, "
        "ADD CONSTRAINT access_overrides_status_check CHECK (status IN ({}))"
    )
    try:
        with runtime.engine.begin() as connection:
            connection.execute(sa.text(replace.format("'ACTIVE', 'EXPIRED', 'REVOKED', 'PAUSED'")))
        found = [p for p in runtime.verify_schema() if "access_overrides" in p and "check" in p]
    finally:
        with runtime.engine.begin() as connection:  # as the migration made it, for the others
            connection.execute(sa.text(replace.format("'ACTIVE', 'EXPIRED', 'REVOKED'")))
        runtime.close()
    assert any(p.startswith("modify_check: access_overrides") for p in found), found
    assert any("PAUSED" in p for p in found)
