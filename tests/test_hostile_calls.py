"""Calls a hostile caller makes, on both backends (issue 24, items 5, 8, 9 and 13): a row of a
governed ledger is a legal transition whoever appends it, a reason code is one the specs
declare, only the catalog's own specs run, which transition a capability runs is its
lifecycle's mapping, and the context is held to the same types as the input (so both
backends give the same answer)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ecm_runtime import Runtime, StorageError
from ecm_runtime.errors import (
    CallerRefused,
    ContractViolation,
    StorageUnavailable,
    TransitionInvalid,
    UnknownCapability,
)

from storage import BACKENDS, runtime_on, table_counts
from test_audit_contract import NOW, event

TENANT = "tenant-1"


@pytest.fixture(params=BACKENDS)
def rt(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    yield from runtime_on(request.param, tmp_path, clock=lambda: NOW)


def ledger_row(**changes: Any) -> dict[str, Any]:
    return {
        "now": NOW,
        "tenant_id": TENANT,
        "capreq_id": "req-1",
        "requester_user_id": "u-1",
        "action": "CREATE_DRAFT",
        "status": "DRAFT",
        "reason_code": "CAPREQ_OK_CREATE_DRAFT",
        "payload_hash": "h",
        **changes,
    }


def request(**changes: Any) -> dict[str, Any]:
    return {
        "now": NOW,
        "tenant_id": TENANT,
        "correlation_id": 1,
        "turn_id": 1,
        "capreq_id": "req-1",
        "requester_user_id": "u-1",
        "simulation_id": "sim-1",
        "idempotency_key": "fulfill",
        **changes,
    }


def simulator(rt: Runtime) -> Any:
    return rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)


def os_ctx(rt: Runtime) -> Any:
    return rt.context(caller="SELENE_OS", tenant_id=TENANT)


@pytest.mark.parametrize(
    "changes",
    [
        {"action": "NOPE", "status": "APPROVED", "reason_code": "NOT_A_CODE"},
        {"action": "NOPE"},
        {"status": "APPROVED"},  # CREATE_DRAFT leads to DRAFT
        {"action": "APPROVE", "status": "APPROVED"},  # from nothing: not allowed
        {"reason_code": "NOT_A_CODE"},
        {"reason_code": "D_FAIL_TIMEOUT"},  # another engine's code
    ],
)
def test_an_append_to_a_governed_ledger_is_a_legal_transition(
    rt: Runtime, changes: dict[str, Any]
) -> None:
    before = table_counts(rt)
    with pytest.raises(StorageError) as refused:
        rt.invoke(os_ctx(rt), "PH1CAPREQ_APPEND_LEDGER_ROW", ledger_row(**changes))
    assert refused.value.reason_code == "J_CONTRACT_VALIDATION_FAILED"
    assert table_counts(rt) == before
    # And nothing it tried makes a later transition legal: FULFILL needs APPROVED.
    with pytest.raises(TransitionInvalid):
        rt.invoke(simulator(rt), "PH1CAPREQ_FULFILL_EXECUTE", request())


def test_a_legal_append_projects_and_gates_the_next(rt: Runtime) -> None:
    rt.invoke(os_ctx(rt), "PH1CAPREQ_APPEND_LEDGER_ROW", ledger_row())
    current = rt.invoke(
        os_ctx(rt), "PH1CAPREQ_READ_CURRENT_ROW", {"tenant_id": TENANT, "capreq_id": "req-1"}
    )
    assert current.status == "DRAFT"  # type: ignore[attr-defined]
    with pytest.raises(TransitionInvalid):  # APPROVE needs PENDING_APPROVAL
        rt.invoke(
            os_ctx(rt),
            "PH1CAPREQ_APPEND_LEDGER_ROW",
            ledger_row(action="APPROVE", status="APPROVED", reason_code="CAPREQ_OK_APPROVE"),
        )


def test_an_undeclared_reason_code_never_reaches_the_audit_log(rt: Runtime) -> None:
    ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
    before = table_counts(rt)
    for code in ("NOT_A_CODE", "CAPREQ_OK_APPROVE"):  # unknown; another engine's
        with pytest.raises(ContractViolation, match=r"not one PH1\.J's specs declare"):
            rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", event(reason_code=code))
    assert table_counts(rt) == before


def test_only_the_catalogs_own_specs_run(rt: Runtime) -> None:
    from selene_ecm.engines import ph1_d

    ctx = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
    spec = ph1_d.CHAT_COMMIT_ROW_SPEC
    forged = dataclasses.replace(spec, callers=("SELENE_OS_SIMULATION_EXECUTOR",), event_type=None)
    payload = spec.input_model.model_validate(_chat())
    before = table_counts(rt)
    with pytest.raises(StorageError, match="not this runtime's compiled spec"):
        rt.execute(ctx, forged, payload)
    unknown = dataclasses.replace(spec, id="PH1D_NOT_A_CAPABILITY")
    with pytest.raises(UnknownCapability):
        rt.execute(ctx, unknown, payload)
    with pytest.raises(CallerRefused):
        rt.execute(ctx, spec, payload)  # the real spec's gate: SELENE_OS only
    assert table_counts(rt) == before


def test_an_input_model_built_without_validation_is_validated(rt: Runtime) -> None:
    from selene_ecm.engines import ph1_d

    spec = ph1_d.CHAT_COMMIT_ROW_SPEC
    ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
    forged = spec.input_model.model_construct(**{**_chat(), "temperature_bp": -5})

    class Looser(spec.input_model):  # type: ignore[name-defined,misc]
        pass

    before = table_counts(rt)
    with pytest.raises(ContractViolation):
        rt.execute(ctx, spec, forged)
    with pytest.raises(ContractViolation, match="takes"):
        rt.execute(ctx, spec, Looser.model_validate(_chat()))
    assert table_counts(rt) == before


def test_a_lifecycle_action_runs_the_transition_its_lifecycle_maps() -> None:
    """A variant's ACTION attribute (or any other of its input's words) is not the mapping:
    the lifecycle names the capability each action runs (issue 24, item 13)."""
    from selene_ecm.engines import ph1_capreq

    spec = ph1_capreq.SUBMIT_FOR_APPROVAL_EXECUTE_SPEC
    model = spec.input_model
    forged = type("Forged", (model,), {"ACTION": "FULFILL"})
    assert forged.ACTION == "FULFILL"  # type: ignore[attr-defined]
    rt = Runtime.open("sqlite://", clock=lambda: NOW)
    try:
        rt.invoke(simulator(rt), "PH1CAPREQ_CREATE_DRAFT_EXECUTE", _create())
        submitted = rt.invoke(simulator(rt), spec.id, request(idempotency_key="submit"))
        assert submitted.status == "PENDING_APPROVAL"  # type: ignore[attr-defined]
    finally:
        rt.close()


@pytest.mark.parametrize(
    "context",
    [
        {"tenant_id": "a\x00b"},
        {"tenant_id": "t" * 500},
        {"tenant_id": ""},
        {"correlation_id": -1},
        {"turn_id": -7},
        {"correlation_id": 2**200},
        {"correlation_id": "seven"},
        {"user_id": "u\x00"},
        {"session_id": "s" * 10_000},
    ],
)
def test_the_context_is_held_to_the_inputs_types(rt: Runtime, context: dict[str, Any]) -> None:
    fields = dict(context)  # the parameter is shared by both backends' runs
    tenant = fields.pop("tenant_id", TENANT)
    ctx = rt.context(caller="SELENE_OS", tenant_id=tenant, **fields)
    before = table_counts(rt)
    with pytest.raises(ContractViolation, match="call context") as refused:
        rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", event())
    assert refused.value.reason_code == "J_CONTRACT_VALIDATION_FAILED"
    assert table_counts(rt) == before


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("where", ["payload_min", "evidence_ref"])
def test_no_backend_stores_a_non_finite_number(rt: Runtime, number: float, where: str) -> None:
    ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
    value = {"gate": "g", "score": number} if where == "payload_min" else {"x": [number]}
    before = table_counts(rt)
    with pytest.raises(ContractViolation) as refused:
        rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", event(**{where: value}))
    assert refused.value.reason_code == "J_CONTRACT_VALIDATION_FAILED"
    assert table_counts(rt) == before


@pytest.mark.parametrize("payload", [None, [], "text", 7, object()])
def test_an_input_that_is_no_mapping_is_a_reason_coded_refusal(rt: Runtime, payload: Any) -> None:
    ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
    with pytest.raises(ContractViolation) as refused:
        rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", payload)
    assert refused.value.reason_code == "J_CONTRACT_VALIDATION_FAILED"


def _chat() -> dict[str, Any]:
    from test_audit_contract import decision

    return {**decision(tenant_id=TENANT), "reason_code": "D_FAIL_TIMEOUT"}


def _create() -> dict[str, Any]:
    return request(
        idempotency_key="create",
        requested_capability_id="CAP_X",
        target_scope_ref="scope",
        justification="why",
    )


def test_an_outage_is_a_reason_coded_refusal() -> None:
    rt = Runtime.open(
        "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=1", create=False
    )
    try:
        with pytest.raises(StorageUnavailable) as refused:
            rt.invoke(os_ctx(rt), "PH1J_APPEND_AUDIT_EVENT", event())
        assert refused.value.reason_code == "J_CONTRACT_VALIDATION_FAILED"
    finally:
        rt.close()


def test_a_lock_held_past_the_timeout_is_a_reason_coded_refusal(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "locked.sqlite3"
    rt = Runtime.open(f"sqlite:///{path}?timeout=0.2")
    holder = sqlite3.connect(path, isolation_level=None)
    before = table_counts(rt)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's writer, holding the lock
        with pytest.raises(StorageUnavailable) as refused:
            rt.invoke(os_ctx(rt), "PH1J_APPEND_AUDIT_EVENT", event())
        assert refused.value.reason_code == "J_CONTRACT_VALIDATION_FAILED"
        holder.execute("ROLLBACK")
        assert table_counts(rt) == before
        rt.invoke(os_ctx(rt), "PH1J_APPEND_AUDIT_EVENT", event())  # and then it writes
    finally:
        holder.close()
        rt.close()


def test_one_key_creates_one_subject_under_concurrency(rt: Runtime) -> None:
    """Eight concurrent CREATE_DRAFTs with one key: one creates, seven replay it (on
    PostgreSQL they used to meet a state moved on and be refused)."""
    import threading

    answers: list[Any] = []
    errors: list[BaseException] = []
    go = threading.Barrier(8)

    def create() -> None:
        go.wait()
        try:
            answers.append(rt.invoke(simulator(rt), "PH1CAPREQ_CREATE_DRAFT_EXECUTE", _create()))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(a.replayed for a in answers) == [False] + [True] * 7
    assert len({a.capreq_event_id for a in answers}) == 1
