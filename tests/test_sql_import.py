"""SQL import (issue 12, point 3): the real database's migrations, read with a real SQL parser.
The expected tables were written by reading the migrations, not from the importer's output."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from ecm_contract import AuditColumn
from ecm_runtime import Runtime

from conftest import REFERENCE, make_project
from ecmc.adopt.drafts import INFERRED, field_entry, field_type, table_entry
from ecmc.adopt.fields import first_columns, runtime_field
from ecmc.adopt.sql import SqlSchema, SqlTable, read_migrations
from ecmc.commands.build import build
from ecmc.config import load_config
from ecmc.pipeline import FrontendResult, compile_texts
from storage import BACKENDS, backend_url

MIGRATIONS = REFERENCE / "adoption" / "migrations"

# table -> (columns as (name, type, nullable), primary key, unique keys as (name, columns,
# partial condition), indexes as (name, columns), foreign keys)
EXPECTED = {
    "audit_events": (
        [
            ("event_id", "BIGSERIAL", False),
            ("created_at", "BIGINT", False),
            ("tenant_id", "TEXT", True),
            ("work_order_id", "TEXT", True),
            ("session_id", "BIGINT", True),
            ("user_id", "TEXT", True),
            ("device_id", "TEXT", True),
            ("engine", "TEXT", False),
            ("event_type", "TEXT", False),
            ("reason_code", "BIGINT", False),
            ("severity", "TEXT", False),
            ("correlation_id", "DECIMAL(39, 0)", False),
            ("turn_id", "BIGINT", False),
            ("payload_min", "JSONB", False),
            ("evidence_ref", "JSONB", True),
            ("idempotency_key", "TEXT", True),
        ],
        ("event_id",),
        [
            (
                "ux_audit_corr_idempotency",
                ("correlation_id", "idempotency_key"),
                "idempotency_key IS NOT NULL",
            ),
            (
                "ux_audit_tenant_work_order_idempotency",
                ("tenant_id", "work_order_id", "idempotency_key"),
                "tenant_id IS NOT NULL AND work_order_id IS NOT NULL "
                "AND idempotency_key IS NOT NULL",
            ),
        ],
        [],
        [],
    ),
    "artifacts_ledger": (
        [
            ("artifact_id", "BIGSERIAL", False),
            ("scope_type", "TEXT", False),
            ("scope_id", "TEXT", False),
            ("artifact_type", "TEXT", False),
            ("artifact_version", "INT", False),
            ("package_hash", "TEXT", False),
            ("payload_ref", "TEXT", False),
            ("created_at", "BIGINT", False),
            ("created_by", "TEXT", False),
            ("provenance_ref", "TEXT", False),
            ("status", "TEXT", False),
            ("idempotency_key", "TEXT", True),
        ],
        ("artifact_id",),
        [
            (
                "ux_artifacts_ledger_scope_type_scope_id_type_version",
                ("scope_type", "scope_id", "artifact_type", "artifact_version"),
                None,
            ),
            (
                "ux_artifacts_ledger_idempotency",
                ("scope_type", "scope_id", "artifact_type", "artifact_version", "idempotency_key"),
                "idempotency_key IS NOT NULL",
            ),
        ],
        [
            (
                "ix_artifacts_ledger_scope_type_scope_id_type_artifact_id",
                ("scope_type", "scope_id", "artifact_type", "artifact_id"),
            )
        ],
        [],
    ),
    "tool_cache": (
        [
            ("cache_id", "BIGSERIAL", False),
            ("tool_name", "TEXT", False),
            ("query_hash", "TEXT", False),
            ("locale", "TEXT", False),
            ("result_payload", "JSONB", False),
            ("expires_at", "BIGINT", False),
        ],
        ("cache_id",),
        [("ux_tool_cache_tool_query_locale", ("tool_name", "query_hash", "locale"), None)],
        [("ix_tool_cache_expires_at", ("expires_at",))],
        [],
    ),
    "capreq_ledger": (
        [
            ("capreq_event_id", "BIGSERIAL", False),
            ("tenant_id", "TEXT", False),
            ("capreq_id", "TEXT", False),
            ("requester_user_id", "TEXT", False),
            ("action", "TEXT", False),
            ("status", "TEXT", False),
            ("reason_code", "BIGINT", False),
            ("payload_hash", "TEXT", False),
            ("created_at", "BIGINT", False),
            ("idempotency_key", "TEXT", True),
        ],
        ("capreq_event_id",),
        [
            (
                "ux_capreq_ledger_idempotency",
                ("tenant_id", "capreq_id", "idempotency_key"),
                "idempotency_key IS NOT NULL",
            )
        ],
        [("ix_capreq_ledger_tenant_capreq_event", ("tenant_id", "capreq_id", "capreq_event_id"))],
        [],
    ),
    "capreq_current": (
        [
            ("tenant_id", "TEXT", False),
            ("capreq_id", "TEXT", False),
            ("requester_user_id", "TEXT", False),
            ("status", "TEXT", False),
            ("last_action", "TEXT", False),
            ("payload_hash", "TEXT", False),
            ("source_event_id", "BIGINT", False),
            ("updated_at", "BIGINT", False),
            ("last_reason_code", "BIGINT", False),
        ],
        ("tenant_id", "capreq_id"),
        [
            (
                "ux_capreq_current_tenant_capreq_source_event",
                ("tenant_id", "capreq_id", "source_event_id"),
                None,
            )
        ],
        [],
        [("source_event_id", "capreq_ledger", "capreq_event_id")],
    ),
}


@pytest.fixture(scope="module")
def schema() -> SqlSchema:
    if not MIGRATIONS.is_dir():
        pytest.skip(f"the adoption migrations are not at {MIGRATIONS}")
    return read_migrations([MIGRATIONS])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_seed_tables_are_imported_as_the_migrations_build_them(
    schema: SqlSchema, name: str
) -> None:
    columns, primary_key, unique, indexes, foreign = EXPECTED[name]
    table = schema.tables[name]
    assert [(c.name, c.sql_type, c.nullable) for c in table.columns.values()] == columns
    assert table.primary_key == primary_key
    assert [(k.name, k.columns, k.where) for k in table.unique_keys] == unique
    assert [(k.name, k.columns) for k in table.indexes] == indexes
    assert [(f.columns[0], f.table, f.target_columns[0]) for f in table.foreign_keys] == foreign


def test_checks_become_labels_and_bounds_and_the_rest_is_reported(schema: SqlSchema) -> None:
    columns = schema.tables["voice_enrollment_sessions"].columns
    assert columns["voice_enroll_status"].labels == ("IN_PROGRESS", "LOCKED", "PENDING", "DECLINED")
    limits = columns["max_session_enroll_time_ms"]
    assert (limits.minimum, limits.maximum) == (60000, 300000)
    # The idiom of a DO block (ALTER TABLE ... ADD CONSTRAINT, guarded by a catalog lookup)
    # is read from inside its body: its CHECK bounds the column.
    learning = schema.tables["builder_patch_proposals"].columns["learning_signal_count"]
    assert (learning.minimum, learning.maximum) == (0, None)
    assert not any(s.at.path.startswith("0020_") for s in schema.skipped)
    assert all(s.at.line > 0 for s in schema.skipped)


def test_alter_table_adds_columns_and_constraints(tmp_path: Path) -> None:
    migration = tmp_path / "0001.sql"
    migration.write_text(
        "CREATE TABLE t (a BIGSERIAL PRIMARY KEY, b TEXT CHECK (b IS NULL OR b IN ('X','Y')));\n"
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS c BOOLEAN NOT NULL DEFAULT false;\n"
        "ALTER TABLE t ADD CONSTRAINT uq_t_bc UNIQUE (b, c);\n"
        "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql;\n"
        "ALTER TABLE missing ADD COLUMN d TEXT;\n",
        encoding="utf-8",
    )
    schema = read_migrations([migration])
    table = schema.tables["t"]
    assert [(c.name, c.nullable) for c in table.columns.values()] == [
        ("a", False),
        ("b", True),
        ("c", False),
    ]
    assert table.columns["b"].labels == ("X", "Y")
    assert [(k.name, k.columns) for k in table.unique_keys] == [("uq_t_bc", ("b", "c"))]
    assert [(s.at.line, s.why) for s in schema.skipped] == [
        (4, "not a table, index or column"),
        (5, "ALTER of an unknown table"),
    ]


def drafted(tables: list[SqlTable]) -> FrontendResult:
    """The tables drafted into a wiring spec, their columns into a dictionary, compiled."""
    return compile_texts(drafted_texts(tables))


def drafted_texts(tables: list[SqlTable]) -> dict[str, str]:
    """The specs `drafted` compiles: a dictionary, a wiring of the tables, an empty ECM."""
    first = first_columns(SqlSchema({t.name: t for t in tables}))
    fields = {name: field_entry(column, owner) for name, (column, owner) in first.items()}
    # The audit envelope's columns the runtime adds to an audit log take its own types.
    fields.setdefault(AuditColumn.PAYLOAD_DIGEST, runtime_field(AuditColumn.PAYLOAD_DIGEST))
    dictionary = "# Drafted\n\n## Spec Header\n- `kind`: `FIELD_DICTIONARY`\n\n## Fields\n"
    wiring = "# Drafted\n\n## Spec Header\n- `kind`: `ENGINE_WIRING`\n- `engine_id`: `PH1.ADOPT`\n"
    ecm = "# PH1.ADOPT\n\n## Engine Header\n- `engine_id`: `PH1.ADOPT`\n- `purpose`: p\n"
    schema = {t.name: t for t in tables}
    named = {name: field_type(c) for name, (c, _) in first_columns(SqlSchema(schema)).items()}
    entries = "\n".join(table_entry(t, "", schema, named=named) for t in tables)
    return {
        "specs/common/fields.md": dictionary + "\n".join(fields.values()) + "\n",
        "specs/wiring/ADOPT.md": wiring + "\n## Tables\n\n" + entries,
        "specs/ecm/ADOPT.md": ecm + "\n## Capability List\n",
    }


@pytest.fixture(scope="module")
def every_table(schema: SqlSchema, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The generated package of every table the migrations create, imported."""
    texts = {
        path.removeprefix("specs/"): text
        for path, text in drafted_texts(list(schema.tables.values())).items()
    }
    root = make_project(tmp_path_factory.mktemp("all") / "p", "adopted_ecm", texts, False)
    project, report = build(load_config(root))
    assert report is not None, project.result.diagnostics
    sys.path.insert(0, str(root / "generated"))
    importlib.invalidate_caches()
    yield "adopted_ecm"
    sys.path.remove(str(root / "generated"))
    for name in [m for m in sys.modules if m.split(".")[0] == "adopted_ecm"]:
        del sys.modules[name]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_imported_table_creates_through_the_generated_package(
    every_table: str, backend: str, tmp_path: Path
) -> None:
    """All 78 tables of the 26 migrations, composite and tenant-scoped keys included, are
    created on both backends by the runtime, and verify_schema finds them as built."""
    for url in backend_url(backend, tmp_path):
        runtime = Runtime.open(url, package=every_table)
        try:
            created = set(sa.inspect(runtime.engine).get_table_names())
            assert {t for t in runtime.metadata.tables} <= created
            assert len(runtime.metadata.tables) == 78
            assert runtime.verify_schema() == []
        finally:
            runtime.close()


def test_every_imported_table_drafts_into_specs_that_compile(schema: SqlSchema) -> None:
    result = drafted(list(schema.tables.values()))
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    assert len(result.program.tables) == len(schema.tables) == 78


def test_drafted_tables_compile_to_the_migrations_tables(schema: SqlSchema) -> None:
    result = drafted([schema.tables[name] for name in sorted(EXPECTED)])
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    compiled = {t.name: t for t in result.program.tables}
    assert {n: str(t.truth_type) for n, t in compiled.items()} == {
        "artifacts_ledger": "LEDGER",
        "audit_events": "LEDGER",
        "capreq_current": "CURRENT",
        "capreq_ledger": "LEDGER",
        "tool_cache": "CACHE",  # by its name and its expires_at column
    }
    for name, (columns, primary_key, unique, indexes, foreign) in EXPECTED.items():
        table = compiled[name]

        def own(key: tuple[str, ...]) -> tuple[str, ...]:
            """A key of a tenant's rows holds the tenant, where the SQL's spans tenants."""
            tenant = table.tenant_column  # noqa: B023 - read in this iteration only
            return key if tenant is None or tenant in key else (tenant, *key)

        # The audit log gains the one envelope column only the runtime writes.
        added = [(str(AuditColumn.PAYLOAD_DIGEST), False)] if name == "audit_events" else []
        assert [(c.name, c.nullable) for c in table.columns] == [
            *((c, n) for c, _, n in columns),
            *added,
        ]
        assert table.primary_key == (primary_key if table.identity else own(primary_key))
        assert [(k.name, k.columns) for k in table.unique_keys] == [
            (k, own(cols)) for k, cols, where in unique if where is None
        ]
        assert [(k.name, k.columns) for k in table.idempotency_keys] == [
            (k, own(cols)) for k, cols, where in unique if where is not None
        ]
        widened = any(own(cols) != cols for _, cols, _ in unique)
        assert ("tenant_id added to" in table.description) == widened
        assert [(k.name, k.columns) for k in table.indexes] == indexes
        assert [(f.columns[0], f.table, f.target_columns[0]) for f in table.foreign_keys] == foreign
        assert INFERRED in table.description
    typed = {f.name: f for f in result.program.fields}
    assert typed["correlation_id"].type.base == "int"
    assert typed["payload_min"].type.base == "json"
    assert "0001_ph1f_foundation.sql:" in typed["event_id"].description


@pytest.mark.parametrize(
    ("sql", "drafted"),
    [
        ("DOUBLE PRECISION", "float"),
        ("FLOAT8", "float"),
        ("REAL", "float"),
        ("NUMERIC(10, 2)", "float"),
        ("NUMERIC", "float"),
        (
            "NUMERIC(39, 0)",
            "int[-999999999999999999999999999999999999999..999999999999999999999999999999999999999]",
        ),
        ("BIGINT", "int[-9223372036854775808..9223372036854775807]"),
    ],
)
def test_a_number_column_is_drafted_as_a_number(tmp_path: Path, sql: str, drafted: str) -> None:
    migration = tmp_path / "0001.sql"
    migration.write_text(f"CREATE TABLE t (id BIGINT PRIMARY KEY, x {sql});\n", encoding="utf-8")
    column = read_migrations([migration]).tables["t"].columns["x"]
    assert f"`x`: `{drafted}`" in field_entry(column, "t")
