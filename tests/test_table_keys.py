"""Keys as the real schema has them (issue 25, point 3): composite foreign keys whole, partial
unique business guards with their condition, index order, column defaults, keys the database
does not number. Each read from SQL a test writes, drafted, compiled, and run on both backends;
and each malformed spelling of them in a wiring spec is a located error."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime

from conftest import make_project
from ecmc.adopt.sql import read_migrations
from ecmc.commands.build import build
from ecmc.config import load_config
from ecmc.pipeline import compile_texts
from storage import BACKENDS, backend_url
from test_sql_import import drafted_texts

SQL = """
CREATE TABLE IF NOT EXISTS plans (
    plan_code TEXT NOT NULL,
    plan_rev BIGINT NOT NULL,
    label TEXT NOT NULL UNIQUE,
    PRIMARY KEY (plan_code, plan_rev)
);
CREATE TABLE IF NOT EXISTS seats (
    seat_no BIGINT PRIMARY KEY,
    plan_code TEXT NOT NULL,
    plan_rev BIGINT NOT NULL,
    holder TEXT NOT NULL,
    seat_state TEXT NOT NULL CHECK (seat_state IN ('HELD', 'FREE')),
    pinned BOOLEAN NOT NULL DEFAULT FALSE,
    priority BIGINT NOT NULL DEFAULT 3,
    noted_at TEXT NOT NULL DEFAULT now(),
    FOREIGN KEY (plan_code, plan_rev) REFERENCES plans (plan_code, plan_rev)
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_seats_one_held
    ON seats (plan_code, plan_rev, holder) WHERE seat_state = 'HELD';
CREATE UNIQUE INDEX IF NOT EXISTS ux_seats_one_pinned
    ON seats (holder) WHERE pinned = TRUE;
CREATE INDEX IF NOT EXISTS ix_seats_recent ON seats (holder, priority DESC);
CREATE UNIQUE INDEX IF NOT EXISTS ux_seats_odd ON seats (holder) WHERE priority > 2;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'chk_plans_rev') THEN
        ALTER TABLE plans ADD CONSTRAINT chk_plans_rev CHECK (plan_rev BETWEEN 1 AND 99);
    END IF;
END $$;
"""


@pytest.fixture(scope="module")
def texts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    migration = tmp_path_factory.mktemp("sql") / "0001_seats.sql"
    migration.write_text(SQL, encoding="utf-8")
    schema = read_migrations([migration])
    return drafted_texts(list(schema.tables.values()))


def test_the_keys_are_drafted_as_the_sql_states_them(texts: dict[str, str]) -> None:
    wiring = texts["specs/wiring/ADOPT.md"]
    assert "- `(plan_code, plan_rev)`: `plans(plan_code, plan_rev)`" in wiring
    assert (
        "`ux_seats_one_held`: `(plan_code, plan_rev, holder)` where `(seat_state=HELD)`" in wiring
    )
    assert "`ux_seats_one_pinned`: `(holder)` where `(pinned=true)`" in wiring
    assert "`ix_seats_recent`: `(holder, priority)` descending `(priority)`" in wiring
    assert "- `defaults`: `(pinned=false, priority=3, noted_at=now)`" in wiring
    # PostgreSQL's own name for an unnamed UNIQUE, so the live key and the spec's agree.
    assert "`plans_label_key`: `(label)`" in wiring
    # A condition a spec cannot state is named, not dropped in silence.
    assert "partial unique key ux_seats_odd" in wiring
    # The DO block's guarded ALTER TABLE is read: its CHECK bounds plan_rev.
    assert "plan_rev" in texts["specs/common/fields.md"].split("int[1..99]")[0].rsplit("\n", 1)[-1]


def test_the_drafted_keys_compile_to_the_ir(texts: dict[str, str]) -> None:
    result = compile_texts(dict(texts))
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    seats = {t.name: t for t in result.program.tables}["seats"]
    assert [(f.columns, f.table, f.target_columns) for f in seats.foreign_keys] == [
        (("plan_code", "plan_rev"), "plans", ("plan_code", "plan_rev"))
    ]
    keys = {k.name: k for k in seats.unique_keys}
    assert keys["ux_seats_one_held"].where == (("seat_state", "HELD"),)
    assert keys["ux_seats_one_pinned"].where == (("pinned", "true"),)
    assert {k.name: k.descending for k in seats.indexes} == {"ix_seats_recent": ("priority",)}
    assert {c.name: c.default for c in seats.columns if c.default} == {
        "pinned": "false",
        "priority": "3",
        "noted_at": "now",
    }


@pytest.fixture(scope="module")
def package(texts: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    relative = {path.removeprefix("specs/"): text for path, text in texts.items()}
    root = make_project(tmp_path_factory.mktemp("keys") / "p", "keyed_ecm", relative, False)
    _, report = build(load_config(root))
    assert report is not None
    sys.path.insert(0, str(root / "generated"))
    importlib.invalidate_caches()
    yield "keyed_ecm"
    sys.path.remove(str(root / "generated"))
    for name in [m for m in sys.modules if m.split(".")[0] == "keyed_ecm"]:
        del sys.modules[name]


def _insert(connection: sa.Connection, table: str, **values: object) -> None:
    columns = ", ".join(values)
    marks = ", ".join(f":{c}" for c in values)
    connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), values)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_database_keeps_each_key(package: str, backend: str, tmp_path: Path) -> None:
    for url in backend_url(backend, tmp_path):
        runtime = Runtime.open(url, package=package)
        try:
            assert runtime.verify_schema() == []
            seat = {"plan_code": "A", "plan_rev": 1, "holder": "h", "seat_state": "HELD"}
            with runtime.engine.begin() as connection:
                _insert(connection, "plans", plan_code="A", plan_rev=1, label="a")
                # No seat_no default: the key is the writer's, not a sequence's.
                _insert(connection, "seats", seat_no=10, **seat)
                row = connection.execute(sa.text("SELECT * FROM seats")).mappings().one()
                assert (row["pinned"], row["priority"]) == (False, 3)
                # The database's clock, as the same ISO-8601 UTC text on both backends.
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["noted_at"])
                # A FREE seat is outside the guard: another row of the same holder is fine.
                _insert(connection, "seats", seat_no=11, **{**seat, "seat_state": "FREE"})
            refused = [
                {**seat, "seat_no": 12},  # a second HELD seat of the holder
                {**seat, "seat_no": 13, "plan_rev": 2},  # a plan revision that does not exist
            ]
            for values in refused:
                with pytest.raises(sa.exc.IntegrityError), runtime.engine.begin() as connection:
                    _insert(connection, "seats", **values)
        finally:
            runtime.close()


WIRING = """# W

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `PH1.ADOPT`

## Tables

### `plans`
- `truth_type`: `CURRENT`
- `columns`: `(plan_code, plan_rev, label)`
- `primary_key`: `(plan_code, plan_rev)`
- `scope`: `GLOBAL`

### `seats`
- `truth_type`: `CURRENT`
- `columns`: `(seat_no, plan_code, plan_rev, holder, seat_state, pinned, priority, noted_at)`
- `primary_key`: `(seat_no)`
- `scope`: `GLOBAL`
"""


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("- `defaults`: `(pinned=maybe)`", "default pinned=maybe: column pinned (bool)"),
        ("- `defaults`: `(priority=now)`", "default priority=now: the database's clock"),
        ("- `defaults`: `(nowhere=1)`", "default names unknown column 'nowhere'"),
        (
            "- `unique_keys`:\n  - `ux`: `(holder)` where `(seat_state=GONE)`",
            "where seat_state=GONE: column seat_state (one of HELD, FREE) cannot hold 'GONE'",
        ),
        (
            "- `indexes`:\n  - `ix`: `(holder)` descending `(priority)`",
            "ix orders columns it lacks",
        ),
        ("- `indexes`:\n  - `ix`: `(holder)` where `(pinned=true)`", "'where' is not a clause"),
        (
            "- `unique_keys`:\n  - `ux`: `(holder)` where seat_state=HELD",
            "text after the columns is not a clause",
        ),
        (
            "- `foreign_keys`:\n  - `(plan_code, plan_rev)`: `plans(plan_code)`",
            "foreign key names 2 column(s) and 1 target column(s)",
        ),
        (
            "- `foreign_keys`:\n  - `(plan_code, holder)`: `plans(plan_code, label)`",
            "foreign key target plans(plan_code, label) is not a key of plans",
        ),
        ("- `foreign_keys`:\n  - `plan_code`: `plans`", "expected '`column`: `table.column`'"),
    ],
)
def test_a_malformed_key_is_a_located_error(
    texts: dict[str, str], lines: str, message: str
) -> None:
    specs = {**texts, "specs/wiring/ADOPT.md": WIRING + lines + "\n"}
    errors = [d for d in compile_texts(dict(specs)).diagnostics if d.severity == "error"]
    assert any(message in d.message for d in errors), [d.message for d in errors]
    assert all(d.span.path == "specs/wiring/ADOPT.md" and d.span.line > 0 for d in errors)
