"""Handler capabilities: a spec-only engine (ECM + wiring, no Python in compiler/ or runtime/)
whose capabilities the team implements, run with the spec enforced around its code, on both
backends. Its ECM file declares one capability outside the Capability List, with a schema of
nested bullets and inline enumerations, as real ECM files do."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime
from ecm_runtime.errors import CallerRefused, ContractViolation, HandlerFailed, HandlerMissing
from ecm_runtime.handlers import HandlerCall

from conftest import make_project, problems
from ecmc.commands.build import build
from ecmc.config import load_config
from storage import BACKENDS, postgres_url, table_counts
from test_new_engine import assert_code_bar

ECM = """# PH1.DEMO ECM Spec

## Engine Header
- `engine_id`: `PH1.DEMO`
- `purpose`: Score candidates, decide, and call a provider: the team's own computations.
- `data_owned`: `demo_decisions`
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `DEMO_SCORE_CANDIDATE`
- `name`: Score one candidate (pure computation)
- `input_schema`: `(tenant_id, candidate_ref, weight_bp)`
- `output_schema`: `DemoScore`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

### `DEMO_DECIDE_COMMIT`
- `name`: Decide the next move and record it
- `input_schema`: `(now, tenant_id, correlation_id, turn_id, candidate_ref, idempotency_key)`
- `output_schema`: `Result<DemoDecision, StorageError>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `DECLARED (DB_WRITE)`

### `DEMO_READ_DECISIONS`
- `name`: Read a tenant's recorded decisions
- `input_schema`: `tenant_id`
- `output_schema`: `DemoDecisionRow[]`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

## Failure Modes + Reason Codes
- `DEMO_OK_DECIDED`
- `DEMO_FAIL_CONTRACT`
- `DEMO_FAIL_SCOPE`
- `DEMO_FAIL_HANDLER`

## Audit Emission Requirements Per Capability
- `DEMO_DECIDE_COMMIT` and `DEMO_PROVIDER_CALL_EXECUTE` must emit PH1.J audit events:
  - `move`
  - `provider_status`

## Provider Adapter Runtime Contract (Step-1 Lock)

### `DEMO_PROVIDER_CALL_EXECUTE`
- `name`: Call the scoring provider once
- `input_schema`:
  - `tenant_id`
  - `correlation_id`
  - `turn_id`
  - `provider_task` (`LLM_INTERPRET | OCR_TEXT_EXTRACT`)
  - `dry_run=true|false`
  - `idempotency_key`
- `output_schema`:
  - `provider_status` (`OK | TIMEOUT | PROVIDER_ERROR`)
  - `validation_status` in `SCHEMA_OK | SCHEMA_FAIL | POLICY_FAIL`
  - `provider_confidence_bp|null`
  - provider response envelope from the adapter
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `DECLARED (PROVIDER_CALL, AUDIT_WRITE)`
"""

WIRING = """# PH1.DEMO Wiring

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `PH1.DEMO`

## Records

### `DemoScore`
- `fields`: `(candidate_ref, score_bp)`

### `DemoDecision`
- `fields`: `(decision_id, move, reason_code)`

### `DemoDecisionRow`
- `row_of`: `demo_decisions`

## Tables

### `demo_decisions`
- `truth_type`: `LEDGER`
- `columns`: `(decision_id, tenant_id, candidate_ref, move, created_at)`
- `primary_key`: `decision_id`
- `identity`: `decision_id`
- `tenant_column`: `tenant_id`

## Audit Event Types

### `DemoDecided`
- `payload_keys`: `(move)`
- `description`: A move was decided.

### `DemoProviderCalled`
- `payload_keys`: `(provider_status)`
- `description`: The provider answered.

## Capability Bindings

### `DEMO_DECIDE_COMMIT`
- `operation`: `handler`
- `event_type`: `DemoDecided`
- `reason_code`: `DEMO_OK_DECIDED`

### `DEMO_READ_DECISIONS`
- `operation`: `read_many`
- `table`: `demo_decisions`
- `lookup`: `(tenant_id)`

### `DEMO_PROVIDER_CALL_EXECUTE`
- `operation`: `handler`
- `event_type`: `DemoProviderCalled`
- `reason_code`: `DEMO_OK_DECIDED`

## Reason Code Roles
- `contract_validation`: `DEMO_FAIL_CONTRACT`
- `scope_violation`: `DEMO_FAIL_SCOPE`
- `handler_failed`: `DEMO_FAIL_HANDLER`
- `handler_missing`: `DEMO_FAIL_HANDLER`
"""

FIELDS = """# PH1.DEMO Fields

## Spec Header
- `kind`: `FIELD_DICTIONARY`

## Fields
- `candidate_ref`: `string[1..64]` — what is scored
- `weight_bp`: `int[0..10000]` — a weight in basis points
- `move`: `enum(ACCEPT|DEFER)` — the move decided
- `decision_id`: `int[1..9223372036854775807]` — a decision's sequence
"""

TENANT = "tenant-1"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = make_project(
        tmp_path_factory.mktemp("demo"),
        "demo_ecm",
        {"ecm/PH1_DEMO.md": ECM, "wiring/PH1_DEMO.md": WIRING, "common/demo.md": FIELDS},
    )
    project, report = build(load_config(root))
    found = [d for d in problems(project.result.diagnostics) if d.severity == "error"]
    assert report is not None, found
    sys.path.insert(0, str(root / "generated"))
    importlib.invalidate_caches()
    yield importlib.import_module("demo_ecm")
    sys.path.remove(str(root / "generated"))
    for name in [m for m in sys.modules if m == "demo_ecm" or m.startswith("demo_ecm.")]:
        del sys.modules[name]


@pytest.fixture(params=BACKENDS)
def rt(request: pytest.FixtureRequest, package: ModuleType, tmp_path: Path) -> Iterator[Runtime]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'demo.sqlite3'}"])
    else:
        urls = postgres_url()
    runtime = Runtime.open(next(urls), package="demo_ecm")
    yield runtime
    runtime.close()
    for _ in urls:
        pass


class Team:
    """The team's implementation of PH1.DEMO's generated Handlers protocol."""

    def __init__(self) -> None:
        self.calls = 0

    def score_candidate(self, call: HandlerCall[Any]) -> dict[str, Any]:
        assert call.connection is not None  # read-only: NONE
        return {"candidate_ref": call.input.candidate_ref, "score_bp": 2 * call.input.weight_bp}

    def decide_commit(self, call: HandlerCall[Any]) -> dict[str, Any]:
        self.calls += 1
        assert call.connection is not None
        table = sa.table(
            "demo_decisions",
            sa.column("tenant_id"),
            sa.column("candidate_ref"),
            sa.column("move"),
            sa.column("created_at"),
        )
        values = {
            "tenant_id": call.ctx.tenant_id,
            "candidate_ref": call.input.candidate_ref,
            "move": "ACCEPT",
            "created_at": call.now,
        }
        row_id = call.connection.execute(
            sa.insert(table).values(values).returning(sa.column("decision_id"))
        ).scalar_one()
        return {"decision_id": row_id, "move": "ACCEPT", "reason_code": "DEMO_OK_DECIDED"}

    def provider_call_execute(self, call: HandlerCall[Any]) -> dict[str, Any]:
        self.calls += 1
        assert call.connection is None  # PROVIDER_CALL: no transaction held across the call
        return {
            "provider_status": "OK",
            "validation_status": "SCHEMA_OK",
            "provider_confidence_bp": None,
        }


def audit_rows(rt: Runtime) -> list[dict[str, Any]]:
    audit = rt.metadata.tables["audit_events"]
    with rt.engine.connect() as connection:
        query = sa.select(audit).order_by(audit.c.event_id)
        return [dict(r) for r in connection.execute(query).mappings()]


def ctx_for(rt: Runtime, caller: str = "SELENE_OS") -> Any:
    return rt.context(caller=caller, tenant_id=TENANT, correlation_id=7, turn_id=1)


DECIDE = {
    "now": 1_700_000_000_000,
    "tenant_id": TENANT,
    "correlation_id": 7,
    "turn_id": 1,
    "candidate_ref": "c-1",
    "idempotency_key": "k-1",
}
PROVIDE = {
    "tenant_id": TENANT,
    "correlation_id": 7,
    "turn_id": 1,
    "provider_task": "LLM_INTERPRET",
    "dry_run": False,
    "idempotency_key": "p-1",
}


def test_the_capability_outside_the_list_is_found_with_its_inline_types(
    package: ModuleType,
) -> None:
    engine = importlib.import_module("demo_ecm.engines.ph1_demo")
    spec = engine.PROVIDER_CALL_EXECUTE_SPEC
    assert spec.operation == "handler" and spec.effects == ("PROVIDER_CALL", "AUDIT_WRITE")
    fields = spec.input_model.model_json_schema()["properties"]
    assert fields["provider_task"]["enum"] == ["LLM_INTERPRET", "OCR_TEXT_EXTRACT"]
    assert fields["dry_run"]["type"] == "boolean"
    out = spec.returns.model_json_schema()
    assert set(out["required"]) == {"provider_status", "validation_status"}
    assert out["properties"]["validation_status"]["enum"] == [
        "SCHEMA_OK",
        "SCHEMA_FAIL",
        "POLICY_FAIL",
    ]
    assert engine.SCORE_CANDIDATE_SPEC.method == "score_candidate"
    assert {"score_candidate", "decide_commit", "provider_call_execute"} <= set(
        dir(engine.Handlers)
    )


def test_each_kind_of_handler_runs_with_gate_validation_and_audit(rt: Runtime) -> None:
    team = Team()
    assert rt.handlers.register_all(team, "PH1.DEMO") == [
        "DEMO_DECIDE_COMMIT",
        "DEMO_PROVIDER_CALL_EXECUTE",
        "DEMO_SCORE_CANDIDATE",
    ]
    ctx = ctx_for(rt)
    score = rt.invoke(
        ctx, "DEMO_SCORE_CANDIDATE", {"tenant_id": TENANT, "candidate_ref": "c", "weight_bp": 7}
    )
    assert score.score_bp == 14  # type: ignore[attr-defined]
    decided = rt.invoke(ctx, "DEMO_DECIDE_COMMIT", DECIDE)
    assert decided.move == "ACCEPT"  # type: ignore[attr-defined]
    provided = rt.invoke(ctx, "DEMO_PROVIDER_CALL_EXECUTE", PROVIDE)
    assert provided.provider_status == "OK"  # type: ignore[attr-defined]
    rows = rt.invoke(ctx, "DEMO_READ_DECISIONS", {"tenant_id": TENANT})
    assert [r.candidate_ref for r in rows] == ["c-1"]  # type: ignore[attr-defined]
    audit = audit_rows(rt)
    assert [(r["event_type"], r["payload_min"]) for r in audit] == [
        ("DemoDecided", {"move": "ACCEPT"}),
        ("DemoProviderCalled", {"provider_status": "OK"}),
    ]
    assert all(r["reason_code"] == "DEMO_OK_DECIDED" for r in audit)
    with pytest.raises(CallerRefused):
        rt.invoke(ctx_for(rt, "SELENE_OS_SIMULATION_EXECUTOR"), "DEMO_DECIDE_COMMIT", DECIDE)
    with pytest.raises(ContractViolation) as refused:
        rt.invoke(ctx, "DEMO_SCORE_CANDIDATE", {"tenant_id": TENANT, "candidate_ref": "c"})
    assert refused.value.reason_code == "DEMO_FAIL_CONTRACT"


def test_retries_replay_and_run_nothing_again(rt: Runtime) -> None:
    team = Team()
    rt.handlers.register_all(team, "PH1.DEMO")
    ctx = ctx_for(rt)
    first = rt.invoke(ctx, "DEMO_DECIDE_COMMIT", DECIDE)
    again = rt.invoke(ctx, "DEMO_DECIDE_COMMIT", DECIDE)
    provided = rt.invoke(ctx, "DEMO_PROVIDER_CALL_EXECUTE", PROVIDE)
    provided_again = rt.invoke(ctx, "DEMO_PROVIDER_CALL_EXECUTE", PROVIDE)
    assert (first, provided) == (again, provided_again)
    assert team.calls == 2
    assert len(audit_rows(rt)) == 2
    assert table_counts(rt)["demo_decisions"] == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"decision_id": 1, "move": "MAYBE", "reason_code": "DEMO_OK_DECIDED"},
        {"move": "ACCEPT"},
        "ACCEPT",
    ],
)
def test_a_bad_answer_fails_closed_and_commits_nothing(rt: Runtime, answer: object) -> None:
    def bad(call: HandlerCall[Any]) -> object:
        assert call.connection is not None
        Team.decide_commit(Team(), call)  # it writes, then answers badly: rolled back
        return answer

    rt.handlers.register("DEMO_DECIDE_COMMIT", bad)
    before = table_counts(rt)
    with pytest.raises(HandlerFailed) as failed:
        rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", DECIDE)
    assert failed.value.reason_code == "DEMO_FAIL_HANDLER"
    assert table_counts(rt) == before


def test_a_raising_or_missing_handler_is_a_reason_coded_error(rt: Runtime) -> None:
    with pytest.raises(HandlerMissing, match="DEMO_SCORE_CANDIDATE") as missing:
        rt.invoke(
            ctx_for(rt),
            "DEMO_SCORE_CANDIDATE",
            {"tenant_id": TENANT, "candidate_ref": "c", "weight_bp": 1},
        )
    assert missing.value.reason_code == "DEMO_FAIL_HANDLER"

    def broken(call: HandlerCall[Any]) -> object:
        raise RuntimeError("boom")

    rt.handlers.register("DEMO_PROVIDER_CALL_EXECUTE", broken)
    before = table_counts(rt)
    with pytest.raises(HandlerFailed, match="boom"):
        rt.invoke(ctx_for(rt), "DEMO_PROVIDER_CALL_EXECUTE", PROVIDE)
    assert table_counts(rt) == before
    with pytest.raises(ValueError, match="read_many"):
        rt.handlers.register("DEMO_READ_DECISIONS", broken)


def test_a_read_only_handler_cannot_write(rt: Runtime) -> None:
    def sneaky(call: HandlerCall[Any]) -> object:
        assert call.connection is not None
        call.connection.execute(
            sa.text(
                "INSERT INTO demo_decisions (tenant_id, candidate_ref, move, created_at) "
                "VALUES ('tenant-1', 'x', 'ACCEPT', 1)"
            )
        )
        return {"candidate_ref": "x", "score_bp": 1}

    rt.handlers.register("DEMO_SCORE_CANDIDATE", sneaky)
    before = table_counts(rt)
    with pytest.raises(HandlerFailed, match="outside its declared side effects") as refused:
        rt.invoke(
            ctx_for(rt),
            "DEMO_SCORE_CANDIDATE",
            {"tenant_id": TENANT, "candidate_ref": "c", "weight_bp": 1},
        )
    assert refused.value.reason_code == "DEMO_FAIL_HANDLER"
    assert table_counts(rt) == before


def test_the_typed_wrappers_call_handlers(rt: Runtime) -> None:
    engine = importlib.import_module("demo_ecm.engines.ph1_demo")
    rt.handlers.register_all(Team(), "PH1.DEMO")
    score = engine.score_candidate(
        ctx_for(rt), engine.ScoreCandidateInput(tenant_id=TENANT, candidate_ref="c", weight_bp=3)
    )
    assert score.score_bp == 6


def test_the_generated_engine_meets_the_code_bar(package: ModuleType) -> None:
    assert_code_bar(Path(package.__file__ or "").parent)
