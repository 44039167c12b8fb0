"""Handlers stay inside their declared side effects, tried as a careless or hostile handler
would (issue 24, item 6), on both backends: no statement lifts a read-only transaction, ends
the call's transaction or reaches past it; a failed handler leaves nothing and its key can be
retried; on PostgreSQL row-level security keeps a handler in its tenant and in its engine's
tables."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime
from ecm_runtime.errors import HandlerFailed, IdempotencyConflict, StorageError
from ecm_runtime.handlers import HandlerCall

from storage import table_counts
from test_handlers import DECIDE, PROVIDE, TENANT, Team, ctx_for, package, rt

__all__ = ["package", "rt"]  # the demo engine's fixtures, shared with test_handlers

SCORE = {"tenant_id": TENANT, "candidate_ref": "c", "weight_bp": 1}
INSERT_OTHER = (
    "INSERT INTO demo_decisions (tenant_id, candidate_ref, move, created_at) "
    "VALUES ('{tenant}', 'x', 'ACCEPT', 1)"
)


def decision_rows(rt: Runtime) -> list[tuple[str, str]]:
    with rt.engine.connect() as connection:
        query = "SELECT tenant_id, candidate_ref FROM demo_decisions ORDER BY decision_id"
        return [tuple(row) for row in connection.exec_driver_sql(query)]  # type: ignore[misc]


LIFTS = [
    "PRAGMA query_only = OFF",
    "SET TRANSACTION READ WRITE",
    "SELECT set_config('transaction_read_only', 'off', true)",
    "COMMIT",
    "END",
    "ROLLBACK",
    "SAVEPOINT s",
    "BEGIN",
    "RESET ROLE",
    "SET ROLE postgres",
    "SELECT 1; COMMIT",
    "/* comment */ COMMIT",
    "SELECT \"set_config\"('role', 'postgres', true)",
    "ATTACH DATABASE ':memory:' AS other",
    "CREATE TABLE sneaky (x int)",
    "DROP TRIGGER IF EXISTS audit_events_no_update",
]


@pytest.mark.parametrize("statement", LIFTS)
def test_a_read_only_handler_cannot_lift_its_transaction(rt: Runtime, statement: str) -> None:
    def lifts(call: HandlerCall[Any]) -> object:
        assert call.connection is not None
        with contextlib.suppress(Exception):  # a careless handler swallows the refusal
            call.connection.execute(sa.text(statement))
        call.connection.execute(sa.text(INSERT_OTHER.format(tenant=TENANT)))
        return {"candidate_ref": "x", "score_bp": 1}

    rt.handlers.register("DEMO_SCORE_CANDIDATE", lifts)
    before = table_counts(rt)
    with pytest.raises(HandlerFailed, match="outside its declared side effects") as failed:
        rt.invoke(ctx_for(rt), "DEMO_SCORE_CANDIDATE", SCORE)
    assert failed.value.reason_code == "DEMO_FAIL_HANDLER"
    assert table_counts(rt) == before


@pytest.mark.parametrize("statement", [s for s in LIFTS if not s.startswith("SELECT 1")])
def test_a_writing_handler_cannot_end_the_calls_transaction(rt: Runtime, statement: str) -> None:
    """What it wrote before and after commits with its audit row, or not at all."""

    def ends(call: HandlerCall[Any]) -> object:
        assert call.connection is not None
        call.connection.execute(sa.text(INSERT_OTHER.format(tenant=TENANT)))
        with contextlib.suppress(Exception):
            call.connection.execute(sa.text(statement))
        raise RuntimeError("and then it fails")

    rt.handlers.register("DEMO_DECIDE_COMMIT", ends)
    before = table_counts(rt)
    with pytest.raises(HandlerFailed):
        rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", DECIDE)
    assert table_counts(rt) == before
    # Nothing of the failed call is left: its key runs again, and replays after that.
    team = Team()
    rt.handlers.register_all(team, "PH1.DEMO")
    first = rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", DECIDE)
    assert rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", DECIDE) == first
    assert team.calls == 1


def test_the_handlers_connection_has_no_transaction_control(rt: Runtime) -> None:
    seen: list[str] = []

    def probes(call: HandlerCall[Any]) -> object:
        for name in ("commit", "rollback", "begin", "close", "begin_nested", "connection"):
            if hasattr(call.connection, name):
                seen.append(name)
        call.connection.commit()  # type: ignore[union-attr]
        return None

    rt.handlers.register("DEMO_DECIDE_COMMIT", probes)
    with pytest.raises(HandlerFailed, match="AttributeError"):
        rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", DECIDE)
    assert seen == []


def test_a_handlers_context_reaches_no_engine_and_makes_no_calls(rt: Runtime) -> None:
    found: dict[str, object] = {}

    def digs(call: HandlerCall[Any]) -> object:
        found["engine"] = getattr(call.ctx.runtime, "engine", None)
        found["capabilities"] = getattr(call.ctx.runtime, "capabilities", None)
        spec = call.spec
        call.ctx.runtime.execute(call.ctx, spec, call.input)  # a nested call: refused
        return {"candidate_ref": "x", "score_bp": 1}

    rt.handlers.register("DEMO_SCORE_CANDIDATE", digs)
    with pytest.raises(HandlerFailed, match="makes no calls") as failed:
        rt.invoke(ctx_for(rt), "DEMO_SCORE_CANDIDATE", SCORE)
    assert failed.value.reason_code == "DEMO_FAIL_HANDLER"
    assert found == {"engine": None, "capabilities": None}


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO audit_events (created_at, engine, event_type, reason_code, severity, "
        "correlation_id, turn_id, payload_min, payload_digest) VALUES "
        "(1, 'PH1.J', 'GATE_PASS', 'X', 'INFO', 1, 1, '{}', 'x')",
        "DELETE FROM ecm_write_outcomes",
        "UPDATE ecm_write_outcomes SET outcome = NULL",
    ],
)
def test_a_writing_handler_writes_only_its_engines_tables(rt: Runtime, statement: str) -> None:
    def strays(call: HandlerCall[Any]) -> object:
        assert call.connection is not None
        call.connection.execute(sa.text(statement))
        return {"decision_id": 1, "move": "ACCEPT", "reason_code": "DEMO_OK_DECIDED"}

    rt.handlers.register_all(Team(), "PH1.DEMO")
    rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", {**DECIDE, "idempotency_key": "first"})
    rt.handlers.register("DEMO_DECIDE_COMMIT", strays)
    before = table_counts(rt)
    with pytest.raises(StorageError):
        rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", DECIDE)
    assert table_counts(rt) == before


def test_a_handler_raising_an_undeclared_code_fails_as_a_handler(rt: Runtime) -> None:
    def raises(code: str) -> Any:
        def handler(call: HandlerCall[Any]) -> object:
            raise StorageError(code, "from the team's code")

        return handler

    rt.handlers.register("DEMO_SCORE_CANDIDATE", raises("NOT_A_DECLARED_CODE"))
    with pytest.raises(HandlerFailed, match="does not declare") as failed:
        rt.invoke(ctx_for(rt), "DEMO_SCORE_CANDIDATE", SCORE)
    assert failed.value.reason_code == "DEMO_FAIL_HANDLER"
    rt.handlers.register("DEMO_SCORE_CANDIDATE", raises("DEMO_FAIL_SCOPE"))
    with pytest.raises(StorageError) as declared:
        rt.invoke(ctx_for(rt), "DEMO_SCORE_CANDIDATE", SCORE)
    assert declared.value.reason_code == "DEMO_FAIL_SCOPE"
    assert not isinstance(declared.value, HandlerFailed)


def test_on_postgresql_a_handler_sees_and_writes_only_its_tenant(rt: Runtime) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row-level security: docs/runtime-contracts.md says so")
    team = Team()
    rt.handlers.register_all(team, "PH1.DEMO")
    other = rt.context(caller="SELENE_OS", tenant_id="tenant-2", correlation_id=7, turn_id=1)
    rt.invoke(other, "DEMO_DECIDE_COMMIT", {**DECIDE, "tenant_id": "tenant-2"})
    seen: list[object] = []

    def reads_all(call: HandlerCall[Any]) -> object:
        assert call.connection is not None
        result = call.connection.execute(sa.text("SELECT tenant_id FROM demo_decisions"))
        seen.extend(row[0] for row in result)
        return {"candidate_ref": "x", "score_bp": 1}

    rt.handlers.register("DEMO_SCORE_CANDIDATE", reads_all)
    rt.invoke(ctx_for(rt), "DEMO_SCORE_CANDIDATE", SCORE)
    assert seen == []  # tenant-1 has no decision yet; tenant-2's is not its to see

    def writes_other(call: HandlerCall[Any]) -> object:
        assert call.connection is not None
        call.connection.execute(sa.text(INSERT_OTHER.format(tenant="tenant-2")))
        return {"decision_id": 1, "move": "ACCEPT", "reason_code": "DEMO_OK_DECIDED"}

    rt.handlers.register("DEMO_DECIDE_COMMIT", writes_other)
    before = decision_rows(rt)
    with pytest.raises(StorageError):
        rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", {**DECIDE, "idempotency_key": "k-9"})
    assert decision_rows(rt) == before


def test_one_key_runs_a_provider_call_once_under_concurrency(rt: Runtime) -> None:
    """Four concurrent calls with one key: the provider runs once; every call answers as the
    first did (issue 24, item 7)."""
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow(call: HandlerCall[Any]) -> dict[str, Any]:
        runs.append(1)
        started.set()
        release.wait(10)
        return {"provider_status": "OK", "validation_status": "SCHEMA_OK"}

    rt.handlers.register("DEMO_PROVIDER_CALL_EXECUTE", slow)
    answers: list[object] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            answers.append(rt.invoke(ctx_for(rt), "DEMO_PROVIDER_CALL_EXECUTE", PROVIDE))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    assert started.wait(10)
    release.set()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(runs) == 1
    assert len(answers) == 4 and all(a == answers[0] for a in answers)


def test_a_failed_provider_call_releases_its_key(rt: Runtime) -> None:
    attempts: list[int] = []

    def flaky(call: HandlerCall[Any]) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise TimeoutError("the provider did not answer")
        return {"provider_status": "OK", "validation_status": "SCHEMA_OK"}

    rt.handlers.register("DEMO_PROVIDER_CALL_EXECUTE", flaky)
    with pytest.raises(HandlerFailed):
        rt.invoke(ctx_for(rt), "DEMO_PROVIDER_CALL_EXECUTE", PROVIDE)
    answer = rt.invoke(ctx_for(rt), "DEMO_PROVIDER_CALL_EXECUTE", PROVIDE)
    assert answer.provider_status == "OK"  # type: ignore[attr-defined]
    assert rt.invoke(ctx_for(rt), "DEMO_PROVIDER_CALL_EXECUTE", PROVIDE) == answer
    assert len(attempts) == 2


def test_a_key_reused_with_another_input_is_refused(rt: Runtime) -> None:
    rt.handlers.register_all(Team(), "PH1.DEMO")
    rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", DECIDE)
    before = table_counts(rt)
    with pytest.raises(IdempotencyConflict) as refused:
        rt.invoke(ctx_for(rt), "DEMO_DECIDE_COMMIT", {**DECIDE, "candidate_ref": "c-2"})
    assert refused.value.reason_code == "DEMO_FAIL_CONTRACT"  # no idempotency role: contract
    with pytest.raises(IdempotencyConflict):
        rt.invoke(ctx_for(rt), "DEMO_PROVIDER_CALL_EXECUTE", {**PROVIDE, "idempotency_key": "k-1"})
    assert table_counts(rt) == before
