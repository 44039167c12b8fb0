"""Append-only means append-only against every statement a database accepts (issue 24, item
3), on both backends, for a schema `create_schema` builds and one migrations build: no
statement rewrites or removes a ledger row (SQLite's REPLACE included), and `verify_schema()`
reports a guard trigger that is missing, disabled or rewritten."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime

from storage import BACKENDS, backend_url
from test_migrations import append_one, migrated, package

__all__ = ["package"]  # the migrations tests' package fixture


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from backend_url(request.param, tmp_path)


@pytest.fixture(params=["created", "migrated"])
def rt(
    request: pytest.FixtureRequest, url: str, tmp_path: Path, package: tuple[Path, str]
) -> Iterator[Runtime]:
    _, name = package
    if request.param == "migrated":
        migrated(tmp_path, url, name)
    runtime = Runtime.open(url, package=name, create=request.param == "created")
    yield runtime
    runtime.close()


def raw(verb: str, table: sa.Table, row: dict[str, Any], tail: str = "") -> sa.TextClause:
    """`<verb> <table> (columns) VALUES (...)`, each value bound with its column's type."""
    names = list(row)
    statement = sa.text(
        f"{verb} {table.name} ({', '.join(names)}) "
        f"VALUES ({', '.join(':' + n for n in names)}) {tail}"
    )
    return statement.bindparams(*(sa.bindparam(n, row[n], type_=table.c[n].type) for n in names))


def rewrites(dialect: str, table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """Statements that would rewrite, move or remove the ledger row `row`."""
    key = table.primary_key.columns[0].name
    text_column = next(
        c.name for c in table.columns if isinstance(c.type, sa.String) and not c.primary_key
    )
    forged = {**row, text_column: "FORGED"}
    found: dict[str, Any] = {
        "update": table.update().values({text_column: "FORGED"}),
        "delete": table.delete(),
        "upsert": raw(
            "INSERT INTO",
            table,
            forged,
            f"ON CONFLICT ({key}) DO UPDATE SET {text_column} = excluded.{text_column}",
        ),
    }
    if dialect == "sqlite":
        found |= {
            "replace": raw("REPLACE INTO", table, forged),
            "insert-or-replace": raw("INSERT OR REPLACE INTO", table, forged),
            "update-or-replace": sa.text(
                f"UPDATE OR REPLACE {table.name} SET {key} = {key} + 1000"
            ),
            # A row numbered -1 would be the one SQLite's guard takes for "not numbered yet".
            "replace-not-numbered": raw("REPLACE INTO", table, {**forged, key: -1}),
            "replace-numbered-zero": raw("INSERT INTO", table, {**forged, key: 0}),
        }
    else:
        found |= {
            "truncate": sa.text(f"TRUNCATE {table.name} CASCADE"),
            "merge-update": sa.text(
                f"MERGE INTO {table.name} t USING (SELECT 1 AS one) s ON true "
                f"WHEN MATCHED THEN UPDATE SET {text_column} = 'FORGED'"
            ),
            "merge-delete": sa.text(
                f"MERGE INTO {table.name} t USING (SELECT 1 AS one) s ON true "
                "WHEN MATCHED THEN DELETE"
            ),
        }
    return found


def rows(rt: Runtime, table: sa.Table) -> list[dict[str, Any]]:
    with rt.engine.connect() as connection:
        query = sa.select(table).order_by(*table.primary_key.columns)
        return [dict(r) for r in connection.execute(query).mappings()]


def test_no_statement_rewrites_or_removes_a_ledger_row(rt: Runtime) -> None:
    dialect = rt.engine.dialect.name
    for name in rt.ledgers:
        table = rt.metadata.tables[name]
        append_one(rt, table)
        before = rows(rt, table)
        for what, statement in rewrites(dialect, table, before[0]).items():
            with (
                pytest.raises(sa.exc.DBAPIError, match="append-only"),
                rt.engine.begin() as connection,
            ):
                connection.execute(statement)
            assert rows(rt, table) == before, f"{name}: {what} changed the ledger"


def test_a_runtime_retry_still_replays_under_the_guard(rt: Runtime) -> None:
    """SQLite's guard refuses an insert whose key is taken; the runtime reads that refusal
    as 'inserted nothing', so an idempotent retry replays."""
    ctx = rt.context(caller="SELENE_OS", tenant_id="tenant-1")
    event = {
        "now": 1,
        "engine": "PH1.J",
        "event_type": "GATE_PASS",
        "reason_code": "J_IDEMPOTENCY_REPLAY",
        "severity": "INFO",
        "correlation_id": 1,
        "turn_id": 1,
        "payload_min": {"gate": "wake"},
        "idempotency_key": "once",
    }
    first = rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", event)
    again = rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", event)
    assert again.replayed and again.id == first.id  # type: ignore[attr-defined]


def tamperings(dialect: str) -> dict[str, list[str]]:
    if dialect == "sqlite":
        return {
            "dropped": ["DROP TRIGGER capreq_ledger_no_replace"],
            "rewritten": [
                "DROP TRIGGER capreq_ledger_no_delete",
                "CREATE TRIGGER capreq_ledger_no_delete BEFORE DELETE ON capreq_ledger "
                "WHEN 0 BEGIN SELECT RAISE(ABORT, 'ecm append-only table capreq_ledger'); END",
            ],
        }
    return {
        "dropped": ["DROP TRIGGER capreq_ledger_no_truncate ON capreq_ledger"],
        "disabled": ["ALTER TABLE capreq_ledger DISABLE TRIGGER capreq_ledger_append_only"],
        "replica-only": [
            "ALTER TABLE capreq_ledger ENABLE REPLICA TRIGGER capreq_ledger_append_only"
        ],
        "function-rewritten": [
            "CREATE OR REPLACE FUNCTION ecm_append_only() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RETURN COALESCE(NEW, OLD); END $$"
        ],
    }


@pytest.mark.parametrize(
    "kind", ["dropped", "disabled", "replica-only", "rewritten", "function-rewritten"]
)
def test_verify_schema_reports_a_guard_that_does_not_hold(rt: Runtime, kind: str) -> None:
    statements = tamperings(rt.engine.dialect.name).get(kind)
    if statements is None:
        pytest.skip(f"{rt.engine.dialect.name} has no such tampering")
    assert rt.verify_schema() == []
    with rt.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    problems = rt.verify_schema()
    assert problems and all("add_append_only_guard" in p for p in problems), problems
    assert any("capreq_ledger" in p for p in problems)
