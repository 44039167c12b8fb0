"""The generated package for the project's specs: golden files, DDL per dialect, no drift."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable
from syrupy.assertion import SnapshotAssertion

from conftest import REPO, problems
from ecmc.commands.build import compile_project
from ecmc.commands.check import check
from ecmc.config import load_config
from ecmc.write.writer import render_all

PROJECT = compile_project(load_config(REPO))
GOLDEN = render_all(PROJECT.planned)


def test_the_project_compiles_to_a_package() -> None:
    assert problems(PROJECT.result.diagnostics) == []
    assert sorted(GOLDEN) == [
        "selene_ecm/__init__.py",
        "selene_ecm/catalog.py",
        "selene_ecm/engines/__init__.py",
        "selene_ecm/engines/artifacts_ledger_tables.py",
        "selene_ecm/engines/ph1_capreq.py",
        "selene_ecm/engines/ph1_d.py",
        "selene_ecm/engines/ph1_e.py",
        "selene_ecm/engines/ph1_j.py",
        "selene_ecm/fields.py",
        "selene_ecm/py.typed",
        "selene_ecm/records.py",
        "selene_ecm/tables.py",
    ]


CATALOG_PART = "# --- the catalog: what the runtime reads"


@pytest.mark.parametrize("path", sorted(GOLDEN))
def test_golden_file(path: str, snapshot: SnapshotAssertion) -> None:
    # An engine module's catalog part is held by test_catalog_roundtrip (the lowered catalog
    # is what the package gives the runtime); its golden text is the public surface.
    text = GOLDEN[path].decode("utf-8")
    assert text.partition(CATALOG_PART)[0] == snapshot


def test_committed_package_is_what_build_writes() -> None:
    report = check(load_config(REPO))
    assert [(d.path, d.kind) for d in report.drifts] == []


def test_every_item_names_its_source() -> None:
    engine = GOLDEN["selene_ecm/engines/ph1_d.py"].decode()
    assert "# source: specs/ecm/PH1_D.md:12\nCHAT_COMMIT_ROW_SPEC = CapabilitySpec(" in engine
    assert "# source: specs/ecm/PH1_D.md:12\nclass ChatCommitRowInput(SpecModel):" in engine
    assert "Gold-Case Capture Wiring (Round-2 Step 8):" in engine  # notes reach the docstring
    tables = GOLDEN["selene_ecm/tables.py"].decode()
    assert "# source: specs/wiring/PH1_CAPREQ.md:22\ncapreq_current = sa.Table(" in tables


def _ddl(dialect: object) -> str:
    from selene_ecm.tables import metadata

    statements = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    return ";\n\n".join(statements) + ";\n"


@pytest.mark.parametrize(
    "dialect", [postgresql.dialect(), sqlite.dialect()], ids=["postgresql", "sqlite"]
)
def test_ddl(dialect: object, snapshot: SnapshotAssertion) -> None:
    assert _ddl(dialect) == snapshot


def test_tables_have_the_keys_of_the_reference_design() -> None:
    ddl = _ddl(postgresql.dialect())
    assert (
        "CREATE UNIQUE INDEX ux_artifacts_ledger_idempotency ON artifacts_ledger "
        "(scope_type, scope_id, artifact_type, artifact_version, idempotency_key) "
        "WHERE idempotency_key IS NOT NULL"
    ) in ddl
    assert "CONSTRAINT pk_capreq_current PRIMARY KEY (tenant_id, capreq_id)" in ddl
    assert "FOREIGN KEY(source_event_id) REFERENCES capreq_ledger (capreq_event_id)" in ddl
    assert (
        "CREATE UNIQUE INDEX ux_tool_cache_tenant_tool_query_locale ON tool_cache "
        "(tenant_id, tool_name, query_hash, locale)"
    ) in ddl
    # A key over a nullable tenant holds in the system scope (no tenant) too.
    assert (
        "CREATE UNIQUE INDEX ux_audit_events_tenant_correlation_idempotency_system ON "
        "audit_events (correlation_id, idempotency_key) WHERE tenant_id IS NULL AND "
        "idempotency_key IS NOT NULL"
    ) in ddl
    assert "capreq_event_id BIGSERIAL NOT NULL" in ddl
    assert "correlation_id NUMERIC(39, 0) NOT NULL" in ddl


def test_tables_carry_their_truth_type() -> None:
    from selene_ecm.tables import metadata

    truth = {name: table.info["truth_type"] for name, table in metadata.tables.items()}
    assert truth == {
        "artifacts_ledger": "LEDGER",
        "audit_events": "LEDGER",
        "capreq_current": "CURRENT",
        "capreq_ledger": "LEDGER",
        "tool_cache": "CACHE",
    }
    assert metadata.tables["capreq_current"].info["projection_of"] == "capreq_ledger"
