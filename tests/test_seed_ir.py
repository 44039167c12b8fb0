"""The IR of every seed engine, snapshot-tested; and the figures the issue checks by hand."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from conftest import SEED_ENGINES, problems
from ecmc.ir import to_jsonable
from ecmc.pipeline import FrontendResult
from ecmc.typeref import ResultRef, ScalarRef


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_project_specs_compile_without_diagnostics(project: FrontendResult) -> None:
    assert problems(project.diagnostics) == []


@pytest.mark.parametrize("engine_id", sorted(SEED_ENGINES))
def test_seed_engine_ir(
    project: FrontendResult, engine_id: str, json_snapshot: SnapshotAssertion
) -> None:
    (engine,) = [e for e in project.program.engines if e.engine_id == engine_id]
    assert engine.source == SEED_ENGINES[engine_id]
    assert to_jsonable(engine) == json_snapshot


@pytest.mark.parametrize(
    ("engine_id", "capabilities", "reason_codes"),
    [
        ("ARTIFACTS_LEDGER_TABLES", 4, 4),
        ("PH1.D", 6, 5),
        ("PH1.CAPREQ", 11, 6),
        ("PH1.E", 13, 5),
    ],
)
def test_seed_counts(
    project: FrontendResult, engine_id: str, capabilities: int, reason_codes: int
) -> None:
    (engine,) = [e for e in project.program.engines if e.engine_id == engine_id]
    assert len(engine.capabilities) == capabilities
    assert len(engine.reason_codes) == reason_codes


def test_every_seed_capability_is_fully_resolved(project: FrontendResult) -> None:
    for engine in project.program.engines:
        for cap in engine.capabilities:
            assert cap.callers, cap.id
            assert cap.side_effects is not None, cap.id
            assert cap.input is not None and cap.input.type.kind != "error", cap.id
            assert cap.output is not None and cap.output.type.kind != "error", cap.id
            if cap.side_effects.writes:
                assert any(req.mode != "none" for req in cap.audit), cap.id


def test_capreq_lifecycle_is_gated_to_the_simulation_executor(project: FrontendResult) -> None:
    (engine,) = [e for e in project.program.engines if e.engine_id == "PH1.CAPREQ"]
    lifecycle_caps = [c for c in engine.capabilities if c.id.endswith("_EXECUTE")]
    assert len(lifecycle_caps) == 6
    assert {c.callers for c in lifecycle_caps} == {("SELENE_OS_SIMULATION_EXECUTOR",)}
    (lifecycle,) = project.program.lifecycles
    assert {t.capability_id for t in lifecycle.transitions} == {c.id for c in lifecycle_caps}
    cancel = next(t for t in lifecycle.transitions if t.action == "CANCEL")
    assert cancel.from_states == ("DRAFT", "PENDING_APPROVAL", "APPROVED")


def test_audit_keys_of_the_seeds(project: FrontendResult) -> None:
    caps = {c.id: c for e in project.program.engines for c in e.capabilities}
    keys = [k.name for req in caps["PH1E_TOOL_OK_COMMIT_ROW"].audit for k in req.keys]
    assert keys == ["tool_name", "query_hash", "fail_code", "cache_status"]
    art = [k.name for req in caps["ART_APPEND_ARTIFACT_LEDGER_ROW"].audit for k in req.keys]
    assert art == ["event_type", "reason_code", "tenant_id", "idempotency_key"]
    assert [r.mode for r in caps["PH1CAPREQ_REBUILD_CURRENT_ROWS"].audit] == ["replay_only"]


def test_tables_follow_the_reference_keys(project: FrontendResult) -> None:
    tables = {t.name: t for t in project.program.tables}
    ledger = tables["artifacts_ledger"]
    assert ledger.truth_type == "LEDGER" and ledger.identity == "artifact_id"
    assert [k.columns for k in ledger.unique_keys] == [
        ("scope_type", "scope_id", "artifact_type", "artifact_version")
    ]
    assert [k.columns for k in ledger.idempotency_keys] == [
        ("scope_type", "scope_id", "artifact_type", "artifact_version", "idempotency_key")
    ]
    # The reference keys, each scoped to its tenant (a key of a tenant's rows is its own).
    assert [k.columns for k in tables["tool_cache"].unique_keys] == [
        ("tenant_id", "tool_name", "query_hash", "locale")
    ]
    current = tables["capreq_current"]
    assert current.primary_key == ("tenant_id", "capreq_id")
    assert current.projection_of == "capreq_ledger"
    assert [(f.columns, f.table, f.target_columns) for f in current.foreign_keys] == [
        (("source_event_id",), "capreq_ledger", ("capreq_event_id",))
    ]
    audit = tables["audit_events"]
    assert [k.columns for k in audit.idempotency_keys] == [
        ("tenant_id", "correlation_id", "idempotency_key"),
        ("tenant_id", "work_order_id", "idempotency_key"),
    ]


def test_fields_say_which_rule_typed_them(project: FrontendResult) -> None:
    caps = {c.id: c for e in project.program.engines for c in e.capabilities}
    schema = caps["PH1D_CHAT_COMMIT_ROW"].input
    assert schema is not None
    typed_by = {m.name: m.type.typed_by for m in schema.type.members}
    assert typed_by["tenant_id"] == "field"
    assert typed_by["temperature_bp"] == "convention *_bp"
    assert typed_by["output_schema_hash"] == "convention *_hash"
    ledger_id = caps["PH1CAPREQ_APPEND_LEDGER_ROW"].output
    assert ledger_id is not None
    assert isinstance(ledger_id.type, ResultRef)
    assert isinstance(ledger_id.type.ok, ScalarRef)
    assert ledger_id.type.ok.typed_by == "convention *_event_id"
