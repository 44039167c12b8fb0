"""Storage contracts of the runtime, one test class run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from blake3 import blake3
from ecm_runtime import Runtime, Written, projection
from ecm_runtime.call import Call
from ecm_runtime.canonical import canonical_json
from ecm_runtime.errors import (
    AppendOnlyViolation,
    CallerRefused,
    ContractViolation,
    ReadOnlyViolation,
    ScopeViolation,
    TransitionInvalid,
)
from ecm_runtime.eventlog import ProjectionWriter

from conftest import REPO, project_specs
from ecmc.pipeline import compile_texts
from storage import example, postgres_url, sqlite_url

TENANT = "tenant-1"
NOW = 1_700_000_000_000


def commit_row(**changes: Any) -> dict[str, Any]:
    base = {
        "now": NOW,
        "tenant_id": TENANT,
        "correlation_id": 2**100,
        "turn_id": 2**63 + 5,
        "user_id": "user-1",
        "device_id": "device-1",
        "request_id": "req-1",
        "prompt_template_version": "v1",
        "output_schema_hash": "h1",
        "tool_catalog_hash": "h2",
        "policy_context_hash": "h3",
        "transcript_hash": "h4",
        "model_id": "model-1",
        "model_route_class": "PRIMARY",
        "temperature_bp": 250,
        "max_tokens": 512,
        "reason_code": "D_FAIL_TIMEOUT",
        "idempotency_key": "idem-1",
    }
    return {**base, **changes}


def artifact(**changes: Any) -> dict[str, Any]:
    base = {
        "now": NOW,
        "scope_type": "TENANT",
        "scope_id": TENANT,
        "artifact_type": "package",
        "artifact_version": 1,
        "package_hash": "p1",
        "payload_ref": "ref-1",
        "created_by": "builder",
        "provenance_ref": "prov-1",
        "status": "ACTIVE",
        "idempotency_key": "art-1",
    }
    return {**base, **changes}


def capreq(variant_fields: dict[str, Any], key: str, capreq_id: str = "cr-1") -> dict[str, Any]:
    return {
        "now": NOW,
        "tenant_id": TENANT,
        "correlation_id": 9,
        "turn_id": 1,
        "capreq_id": capreq_id,
        "requester_user_id": "user-1",
        "simulation_id": "sim-1",
        "idempotency_key": key,
        **variant_fields,
    }


STORY_OPERATIONS = ("tool_query", "transition")  # need a tool or a lifecycle story first
DRAFT = {"requested_capability_id": "cap-x", "target_scope_ref": "scope-1", "justification": "j"}


def race(call: Callable[[Any], object], payloads: list[Any]) -> list[str]:
    """Each payload called in a thread of its own, all at once; each outcome: ok, or the
    name of the error it raised."""
    start, outcomes = threading.Barrier(len(payloads)), []

    def one(payload: Any) -> None:
        start.wait()
        try:
            call(payload)
            outcomes.append("ok")
        except Exception as error:  # the outcome under test
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=one, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


class RuntimeContract:
    """Every test here runs on each backend subclass."""

    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield ""

    @pytest.fixture
    def rt(self, url: str) -> Iterator[Runtime]:
        runtime = Runtime.open(url, clock=lambda: NOW)
        yield runtime
        runtime.close()

    def count(self, rt: Runtime, table: str) -> int:
        with rt.engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(rt.metadata.tables[table])
                ).scalar_one()
            )

    # --- every capability ---------------------------------------------------------------

    def test_every_storage_capability_runs_from_its_catalog_schema(self, rt: Runtime) -> None:
        ran: set[str] = set()
        for spec in sorted(rt.catalog, key=lambda s: (not s.writes, s.id)):
            if spec.operation in (None, "tool_query", "transition"):
                continue
            payload = example(spec.input_schema)
            for field in ("tenant_id", "scope_id"):
                if field in payload:
                    payload[field] = TENANT
            if "idempotency_key" in payload:
                payload["idempotency_key"] = spec.id  # one key per capability: no replays here
            if "reason_code" in payload:
                payload["reason_code"] = spec.reason_codes[0]  # a code the specs declare
            if spec.id == "PH1J_APPEND_AUDIT_EVENT":
                payload.update(engine="PH1.J", event_type="GATE_PASS", payload_min={"gate": "g"})
            governing = rt.lifecycles.governing.get(spec.table or "")
            if governing is not None and spec.operation == "append":
                # A row of a governed ledger is a transition: the one that creates a subject.
                first = next(t for t in governing.transitions if not t.from_states)
                payload[governing.action_column] = first.action
                payload[governing.state_column] = first.to_state
                payload["reason_code"] = first.reason_code
            caller = rt.context(caller=spec.callers[0], tenant_id=TENANT)
            result = rt.invoke(caller, spec.id, payload)
            if spec.writes and spec.operation != "rebuild":
                assert isinstance(result, Written), spec.id
            ran.add(spec.id)
        # What the compiler bound to a storage operation is what the runtime's catalog runs.
        bindings = compile_texts(project_specs()).program.bindings
        storage = {b.capability_id for b in bindings if b.operation not in STORY_OPERATIONS}
        assert ran == storage

    def test_reading_back_gives_what_was_written(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        rt.invoke(ctx, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact())
        key = {
            k: artifact()[k]
            for k in ("scope_type", "scope_id", "artifact_type", "artifact_version")
        }
        row = rt.invoke(ctx, "ART_READ_ARTIFACT_LEDGER_ROW", key)
        assert row is not None
        written = {k: v for k, v in artifact().items() if k != "now"}
        assert {k: getattr(row, k) for k in written} == written
        assert row.created_at == NOW  # type: ignore[attr-defined]

    def test_no_audit_row_holds_a_key_its_spec_did_not_list(self, rt: Runtime) -> None:
        self.test_every_storage_capability_runs_from_its_catalog_schema(rt)
        declared = {(t.engine_id, t.name): set(t.payload_keys) for t in rt.event_types}
        shared = {t.name: set(t.payload_keys) for t in rt.event_types if t.any_engine}
        with rt.engine.connect() as connection:
            rows = connection.execute(sa.select(rt.metadata.tables["audit_events"])).mappings()
            checked = 0
            for row in rows:
                key = (row["engine"], row["event_type"])
                allowed = declared.get(key, shared.get(row["event_type"]))
                assert allowed is not None, dict(row)
                assert set(row["payload_min"]) <= allowed, dict(row)
                checked += 1
        assert checked >= 10

    @pytest.mark.parametrize(
        ("capability", "payload", "reader", "query"),
        [
            (
                "PH1E_TOOL_OK_COMMIT_ROW",
                {
                    "tool_name": "time",
                    "query_hash": "q",
                    "cache_status": "HIT",
                    "reason_code": "E_FAIL_TIMEOUT",
                },
                "PH1E_READ_AUDIT_ROWS",
                {"correlation_id": 5},
            ),
            (
                "PH1J_APPEND_AUDIT_EVENT",
                {
                    "engine": "PH1.J",
                    "event_type": "GATE_FAIL",
                    "reason_code": "J_IDEMPOTENCY_REPLAY",
                    "severity": "WARN",
                    "payload_min": {},
                },
                "PH1J_READ_AUDIT_EVENTS_BY_CORRELATION",
                {"correlation_id": 5},
            ),
        ],
    )
    def test_engine_acceptance_isolation_and_dedupe(
        self,
        rt: Runtime,
        capability: str,
        payload: dict[str, Any],
        reader: str,
        query: dict[str, Any],
    ) -> None:
        for correlation, tenant in ((5, TENANT), (6, "tenant-2")):
            ctx = rt.context(caller="SELENE_OS", tenant_id=tenant)
            event = {
                "now": NOW,
                "tenant_id": tenant,
                "correlation_id": correlation,
                "turn_id": 1,
                "user_id": "u",
                "device_id": "d",
                "idempotency_key": "same",
                **payload,
            }
            event = {
                k: v
                for k, v in event.items()
                if k in rt.capabilities[capability].input_model.model_fields
            }
            first = rt.invoke(ctx, capability, event)
            again = rt.invoke(ctx, capability, event)
            assert isinstance(first, Written) and isinstance(again, Written)
            assert again.replayed and again.id == first.id
            rows = rt.invoke(ctx, reader, {**query, "correlation_id": correlation})
            assert [r.tenant_id for r in rows] == [tenant]  # type: ignore[attr-defined]
            assert rt.invoke(ctx, reader, {**query, "correlation_id": 11 - correlation}) == ()
        # The same thread and key in another tenant is that tenant's own first write: a key
        # is its tenant's, so another's use of it neither refuses nor reveals anything.
        own = rt.invoke(ctx, capability, {**event, "correlation_id": 5})
        assert isinstance(own, Written) and not own.replayed and own.id != first.id

    def test_same_request_id_in_two_tenants_are_two_requests(self, rt: Runtime) -> None:
        for tenant in (TENANT, "tenant-2"):
            sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=tenant)
            created = rt.invoke(
                sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", {**capreq(DRAFT, "k1"), "tenant_id": tenant}
            )
            assert created.tenant_id == tenant and not created.replayed  # type: ignore[attr-defined]
        mine = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
        rt.invoke(mine, "PH1CAPREQ_SUBMIT_FOR_APPROVAL_EXECUTE", capreq({}, "k2"))
        reader = rt.context(caller="SELENE_OS", tenant_id="tenant-2")
        theirs = rt.invoke(
            reader, "PH1CAPREQ_READ_CURRENT_ROW", {"tenant_id": "tenant-2", "capreq_id": "cr-1"}
        )
        assert theirs.status == "DRAFT"  # type: ignore[attr-defined]
        assert len(rt.invoke(reader, "PH1CAPREQ_READ_LEDGER_ROWS", {})) == 1  # type: ignore[arg-type]

    # --- caller gating ------------------------------------------------------------------

    def test_callers_outside_the_policy_are_refused_before_anything_else(self, rt: Runtime) -> None:
        stranger = rt.context(caller="SOMEONE_ELSE", tenant_id=TENANT)
        with pytest.raises(CallerRefused) as refused:
            rt.invoke(stranger, "PH1D_CHAT_COMMIT_ROW", {"not": "even valid"})
        assert refused.value.reason_code == "J_TENANT_SCOPE_VIOLATION"
        os_ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        with pytest.raises(CallerRefused):
            rt.invoke(os_ctx, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, "k1"))
        assert self.count(rt, "capreq_ledger") == 0

    # --- contracts ----------------------------------------------------------------------

    def test_invalid_input_carries_the_contract_reason_code(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        cases = {
            "PH1D_CHAT_COMMIT_ROW": (commit_row(temperature_bp=10_001), "D_FAIL_INVALID_SCHEMA"),
            "ART_APPEND_ARTIFACT_LEDGER_ROW": (artifact(extra=1), "ART_CONTRACT_VALIDATION_FAILED"),
            "PH1E_TOOL_OK_COMMIT_ROW": ({"now": "soon"}, "J_CONTRACT_VALIDATION_FAILED"),
        }
        for capability, (payload, code) in cases.items():
            with pytest.raises(ContractViolation) as refused:
                rt.invoke(ctx, capability, payload)
            assert refused.value.reason_code == code
        assert self.count(rt, "audit_events") == 0

    # --- audit --------------------------------------------------------------------------

    def test_commit_rows_are_audit_events_with_bounded_keys_and_digest(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        written = rt.invoke(
            ctx,
            "PH1D_FAIL_CLOSED_COMMIT_ROW",
            commit_row(model_id=None, fail_code="F1", session_id="s-1"),
        )
        assert isinstance(written, Written) and not written.replayed
        from selene_ecm.engines import ph1_d

        (row,) = ph1_d.read_audit_rows(ctx, ph1_d.ReadAuditRowsInput(correlation_id=2**100))
        assert row.event_id == written.id and row.engine == "PH1.D" and row.event_type == "Other"
        assert row.correlation_id == 2**100 and row.turn_id == 2**63 + 5  # exact past 64 bits
        assert row.session_id == "s-1" and row.reason_code == "D_FAIL_TIMEOUT"
        allowed = set(ph1_d.FAIL_CLOSED_COMMIT_ROW_SPEC.audit_keys)
        assert isinstance(row.payload_min, dict) and set(row.payload_min) <= allowed
        assert row.payload_min["decision"] == "FAIL_CLOSED" and "model_id" not in row.payload_min
        assert row.payload_digest == blake3(canonical_json(row.payload_min).encode()).hexdigest()

    def test_audit_payload_keys_outside_the_spec_are_refused(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        event = {
            "now": NOW,
            "engine": "PH1.E",
            "event_type": "ToolOk",
            "reason_code": "E_FAIL_TIMEOUT",
            "severity": "INFO",
            "correlation_id": 1,
            "turn_id": 1,
            "tenant_id": TENANT,
        }
        rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", {**event, "payload_min": {"tool_name": "time"}})
        with pytest.raises(ContractViolation) as refused:
            rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", {**event, "payload_min": {"secret": "x"}})
        assert refused.value.reason_code == "J_CONTRACT_VALIDATION_FAILED"
        assert self.count(rt, "audit_events") == 1

    def test_data_row_and_audit_row_commit_together_or_not_at_all(
        self, rt: Runtime, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)

        def broken_audit(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("audit write failed")

        monkeypatch.setattr(rt.audit, "write", broken_audit)
        with pytest.raises(RuntimeError):
            rt.invoke(ctx, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact())
        assert self.count(rt, "artifacts_ledger") == 0
        monkeypatch.undo()
        rt.invoke(ctx, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact())
        assert (self.count(rt, "artifacts_ledger"), self.count(rt, "audit_events")) == (1, 1)

    # --- idempotency --------------------------------------------------------------------

    def test_retries_replay_the_original_and_write_nothing(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        first = rt.invoke(ctx, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact())
        again = rt.invoke(ctx, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact())
        assert isinstance(first, Written) and isinstance(again, Written)
        assert (again.id, again.replayed, again.reason_code) == (
            first.id,
            True,
            "ART_IDEMPOTENCY_REPLAY",
        )
        assert (self.count(rt, "artifacts_ledger"), self.count(rt, "audit_events")) == (1, 1)
        d_first = rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", commit_row())
        d_again = rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", commit_row())
        assert isinstance(d_again, Written) and isinstance(d_first, Written)
        assert d_again.replayed and d_again.id == d_first.id
        assert d_again.reason_code == "J_IDEMPOTENCY_REPLAY"
        assert self.count(rt, "audit_events") == 2

    def test_same_version_without_a_retry_key_is_a_conflict(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        rt.invoke(ctx, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact())
        with pytest.raises(ContractViolation):
            rt.invoke(ctx, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact(idempotency_key="other"))
        assert self.count(rt, "artifacts_ledger") == 1

    # --- append-only ------------------------------------------------------------------------

    def test_ledgers_refuse_update_and_delete_at_the_database(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        rt.invoke(ctx, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact())
        sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
        rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, "k1"))
        for table in ("artifacts_ledger", "audit_events", "capreq_ledger"):
            for statement in (f"UPDATE {table} SET created_at = 0", f"DELETE FROM {table}"):
                with pytest.raises(sa.exc.DBAPIError) as refused, rt.engine.begin() as c:
                    c.exec_driver_sql(statement)
                assert "append-only" in str(refused.value)
            assert self.count(rt, table) >= 1
        spec = rt.capabilities["ART_APPEND_ARTIFACT_LEDGER_ROW"]
        with (
            pytest.raises(AppendOnlyViolation) as translated,
            rt.transaction(read_only=False, spec=spec) as connection,
        ):
            connection.exec_driver_sql("DELETE FROM artifacts_ledger")
        assert translated.value.reason_code == "ART_APPEND_ONLY_VIOLATION"

    def test_read_only_capabilities_cannot_write(self, rt: Runtime) -> None:
        spec = rt.capabilities["ART_READ_TOOL_CACHE_ROW"]
        assert not spec.writes
        with (
            pytest.raises(ReadOnlyViolation),
            rt.transaction(read_only=True, spec=spec) as connection,
        ):
            connection.execute(
                sa.insert(rt.metadata.tables["tool_cache"]).values(
                    tool_name="t",
                    query_hash="q",
                    locale="en",
                    result_payload={},
                    created_at=1,
                    expires_at=2,
                )
            )
        assert self.count(rt, "tool_cache") == 0

    def test_a_write_after_a_refused_or_read_only_call_writes(self, rt: Runtime) -> None:
        # The runtime may hand the next call the connection the last one used: a read-only
        # call, and one the database refused, must leave it as a write expects it.
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        spec = rt.capabilities["ART_READ_TOOL_CACHE_ROW"]
        cache = rt.metadata.tables["tool_cache"]
        with pytest.raises(ReadOnlyViolation), rt.transaction(read_only=True, spec=spec) as c:
            c.execute(sa.delete(cache))
        for n in range(3):
            lookup = {"tool_name": "t", "query_hash": "q", "locale": "en"}
            assert rt.invoke(ctx, "ART_READ_TOOL_CACHE_ROW", lookup) is None
            key = f"after-read-{n}"
            written = rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", commit_row(idempotency_key=key))
            assert isinstance(written, Written) and not written.replayed
        assert self.count(rt, "audit_events") == 3

    def test_a_failed_transaction_keeps_nothing_however_its_rows_were_written(
        self, rt: Runtime
    ) -> None:
        # An event log's append runs on the driver; a statement through SQLAlchemy joins the
        # transaction on top of it; the engine used directly begins its own. Each rolls back.
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        spec = rt.capabilities["PH1D_CHAT_COMMIT_ROW"]
        values = commit_row(idempotency_key="rolled-back")
        call = Call.of(ctx, spec, spec.input_model.model_validate(values), lambda: NOW)
        row = rt.audit.envelope(call, "D_FAIL_TIMEOUT", own_row=True)
        cache = rt.metadata.tables["tool_cache"]
        cached = {"tenant_id": TENANT, "tool_name": "t", "query_hash": "q", "locale": "en"}
        cached |= {"result_payload": {}}
        cached |= {"created_at": 1, "expires_at": 2}
        for through_sqlalchemy_too in (False, True):
            with pytest.raises(RuntimeError), rt.transaction(read_only=False) as connection:
                assert rt.event_log("audit_events").append(connection, row) is not None
                if through_sqlalchemy_too:
                    connection.execute(sa.insert(cache).values(**cached))
                raise RuntimeError("after the writes")
        with pytest.raises(RuntimeError), rt.engine.begin() as connection:
            connection.execute(sa.insert(cache).values(**cached))
            raise RuntimeError("after the write")
        assert self.count(rt, "audit_events") == 0 and self.count(rt, "tool_cache") == 0
        with rt.transaction(read_only=False) as connection:
            assert rt.event_log("audit_events").append(connection, row) is not None
            connection.execute(sa.insert(cache).values(**cached))
        assert self.count(rt, "audit_events") == 1 and self.count(rt, "tool_cache") == 1

    def test_a_commit_the_database_refuses_leaves_the_next_call_a_clean_connection(
        self, rt: Runtime
    ) -> None:
        # A deferred foreign key fails at COMMIT, and SQLite then keeps the transaction open:
        # the connection must not serve the next call as it is.
        with rt.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE parent_t (id INTEGER PRIMARY KEY)")
            connection.exec_driver_sql(
                "CREATE TABLE child_t (parent_id INTEGER REFERENCES parent_t (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        orphan = "INSERT INTO child_t (parent_id) VALUES (1)"
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        for n, on_the_driver in enumerate((True, False)):
            with (
                pytest.raises(sa.exc.IntegrityError),  # at the end: the COMMIT refuses
                rt.transaction(read_only=False) as connection,
            ):
                if on_the_driver:
                    driver: Any = connection.connection.driver_connection
                    driver.execute(orphan)
                else:
                    connection.exec_driver_sql(orphan)
            key = f"after-refused-commit-{n}"
            written = rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", commit_row(idempotency_key=key))
            assert isinstance(written, Written) and not written.replayed
        assert self.count(rt, "audit_events") == 2
        with rt.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM child_t").scalar_one() == 0

    def test_options_a_call_sets_on_its_connection_end_with_it(self, rt: Runtime) -> None:
        with rt.transaction(read_only=False) as connection:
            connection.execution_options(handler_choice="mine")
        for read_only in (False, True, False):
            with rt.transaction(read_only=read_only) as connection:
                assert "handler_choice" not in connection.get_execution_options()

    def test_a_forked_child_writes_on_a_connection_of_its_own(self, rt: Runtime) -> None:
        # SQLite forbids using a connection across fork(); SQLAlchemy's recipe for the pool
        # is dispose(close=False) in the child. The connections the runtime keeps must follow.
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", commit_row(idempotency_key="parent-1"))
        checkouts: list[int] = []
        sa.event.listen(rt.engine, "checkout", lambda *_: checkouts.append(os.getpid()))

        def child() -> None:
            rt.engine.dispose(close=False)
            rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", commit_row(idempotency_key="child-1"))
            os._exit(0 if checkouts == [os.getpid()] else 3)

        process = multiprocessing.get_context("fork").Process(target=child)
        process.start()
        process.join(timeout=60)
        assert process.exitcode == 0, "the child wrote on a connection its parent kept"
        rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", commit_row(idempotency_key="parent-2"))
        assert self.count(rt, "audit_events") == 3

    def test_closing_the_runtime_returns_every_connection(self, rt: Runtime) -> None:
        moves: Counter[str] = Counter()
        for move in ("checkout", "checkin"):
            sa.event.listen(rt.engine, move, lambda *_, move=move: moves.update([move]))

        def write(n: int) -> None:
            ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
            rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", commit_row(idempotency_key=f"close-{n}"))

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert self.count(rt, "audit_events") == 4
        rt.close()
        assert moves["checkout"] >= 4 and moves["checkin"] == moves["checkout"]

    # --- tenants ------------------------------------------------------------------------

    def test_no_read_or_write_crosses_tenants(self, rt: Runtime) -> None:
        mine = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        theirs = rt.context(caller="SELENE_OS", tenant_id="tenant-2")
        rt.invoke(mine, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact())
        rt.invoke(mine, "PH1D_CHAT_COMMIT_ROW", commit_row())
        with pytest.raises(ScopeViolation) as refused:
            rt.invoke(theirs, "ART_APPEND_ARTIFACT_LEDGER_ROW", artifact(idempotency_key="x"))
        assert refused.value.reason_code == "ART_SCOPE_VIOLATION"
        with pytest.raises(ScopeViolation):
            rt.invoke(theirs, "PH1D_CHAT_COMMIT_ROW", commit_row(idempotency_key="x"))
        key = {k: artifact()[k] for k in ("scope_type", "artifact_type", "artifact_version")}
        assert (
            rt.invoke(theirs, "ART_READ_ARTIFACT_LEDGER_ROW", {**key, "scope_id": "tenant-2"})
            is None
        )
        assert rt.invoke(theirs, "PH1D_READ_AUDIT_ROWS", {"correlation_id": 2**100}) == ()
        with pytest.raises(ScopeViolation):
            rt.invoke(theirs, "PH1J_READ_AUDIT_EVENTS_BY_TENANT", {"tenant_id": TENANT})
        assert len(rt.invoke(mine, "PH1J_READ_AUDIT_EVENTS_BY_TENANT", {"tenant_id": TENANT})) == 2  # type: ignore[arg-type]

    # --- cache --------------------------------------------------------------------------

    def test_tool_cache_upserts_in_place_and_honours_ttl(self, url: str) -> None:
        clock = [NOW]
        rt = Runtime.open(url, clock=lambda: clock[0])
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        key = {"tool_name": "time", "query_hash": "q1", "locale": "en"}
        first = rt.invoke(
            ctx,
            "ART_UPSERT_TOOL_CACHE_ROW",
            {**key, "now": NOW, "result_payload": {"v": 1}, "expires_at": NOW + 10},
        )
        second = rt.invoke(
            ctx,
            "ART_UPSERT_TOOL_CACHE_ROW",
            {**key, "now": NOW, "result_payload": {"v": 2}, "expires_at": NOW + 10},
        )
        assert isinstance(first, Written) and isinstance(second, Written) and first.id == second.id
        row = rt.invoke(ctx, "ART_READ_TOOL_CACHE_ROW", key)
        assert row is not None and row.result_payload == {"v": 2}  # type: ignore[attr-defined]
        clock[0] = NOW + 10
        assert rt.invoke(ctx, "ART_READ_TOOL_CACHE_ROW", key) is None
        assert self.count(rt, "tool_cache") == 1
        rt.close()

    # --- lifecycle and projection -------------------------------------------------------

    def test_concurrent_transitions_of_one_subject_take_turns(self, rt: Runtime) -> None:
        # Eight first calls of one subject, each with its own key, at once: one creates it,
        # the others find it made; then eight submits: one moves it, the others find it moved.
        sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
        for capability, fields in (
            ("PH1CAPREQ_CREATE_DRAFT_EXECUTE", DRAFT),
            ("PH1CAPREQ_SUBMIT_FOR_APPROVAL_EXECUTE", {}),
        ):
            calls = [capreq(fields, f"{capability}-{n}") for n in range(8)]
            outcomes = race(functools.partial(rt.invoke, sim, capability), calls)
            assert sorted(outcomes) == ["TransitionInvalid"] * 7 + ["ok"], capability
        assert self.count(rt, "capreq_ledger") == 2

    def test_capreq_lifecycle_follows_the_transition_table(self, rt: Runtime) -> None:
        sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
        create = rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, "k1"))
        assert create.status == "DRAFT" and create.reason_code == "CAPREQ_OK_CREATE_DRAFT"  # type: ignore[attr-defined]
        with pytest.raises(TransitionInvalid) as refused:
            rt.invoke(sim, "PH1CAPREQ_APPROVE_EXECUTE", capreq({"approver_user_id": "a"}, "k2"))
        assert refused.value.reason_code == "J_CONTRACT_VALIDATION_FAILED"
        steps = [
            ("PH1CAPREQ_SUBMIT_FOR_APPROVAL_EXECUTE", {}, "PENDING_APPROVAL"),
            ("PH1CAPREQ_APPROVE_EXECUTE", {"approver_user_id": "a"}, "APPROVED"),
            ("PH1CAPREQ_FULFILL_EXECUTE", {}, "FULFILLED"),
        ]
        for n, (capability, fields, state) in enumerate(steps):
            response = rt.invoke(sim, capability, capreq(fields, f"s{n}"))
            assert response.status == state and not response.replayed  # type: ignore[attr-defined]
        with pytest.raises(TransitionInvalid):
            rt.invoke(sim, "PH1CAPREQ_CANCEL_REVOKE_EXECUTE", capreq({}, "late"))
        replay = rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, "k1"))
        assert replay.replayed and replay.capreq_event_id == create.capreq_event_id  # type: ignore[attr-defined]
        assert self.count(rt, "capreq_ledger") == 4
        assert self.count(rt, "audit_events") == 4
        current = rt.invoke(
            sim.__class__(rt, "SELENE_OS", TENANT),
            "PH1CAPREQ_READ_CURRENT_ROW",
            {"tenant_id": TENANT, "capreq_id": "cr-1"},
        )
        assert current.status == "FULFILLED" and current.last_action == "FULFILL"  # type: ignore[attr-defined]

    @pytest.mark.parametrize("batch", [1, 2, 5000])
    def test_rebuild_gives_the_same_rows_as_direct_writes(
        self, rt: Runtime, batch: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The fold writes the last event per key of each batch; keys span batches at 1 and 2.
        monkeypatch.setattr(projection, "REBUILD_BATCH", batch)
        sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
        for n in range(3):
            rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, f"c{n}", f"cr-{n}"))
            rt.invoke(sim, "PH1CAPREQ_SUBMIT_FOR_APPROVAL_EXECUTE", capreq({}, f"s{n}", f"cr-{n}"))
        rt.invoke(sim, "PH1CAPREQ_CANCEL_REVOKE_EXECUTE", capreq({}, "x", "cr-1"))
        other = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id="tenant-2")
        rt.invoke(
            other,
            "PH1CAPREQ_CREATE_DRAFT_EXECUTE",
            {**capreq(DRAFT, "o1"), "tenant_id": "tenant-2"},
        )
        current = rt.metadata.tables["capreq_current"]

        def snapshot() -> list[tuple[Any, ...]]:
            with rt.engine.connect() as connection:
                query = sa.select(current).order_by(current.c.tenant_id, current.c.capreq_id)
                return [tuple(row) for row in connection.execute(query)]

        direct = snapshot()
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        assert rt.invoke(ctx, "PH1CAPREQ_REBUILD_CURRENT_ROWS", {}) is None
        assert snapshot() == direct
        assert len(direct) == 4
        rows = rt.invoke(ctx, "PH1CAPREQ_READ_CURRENT_ROWS", {})
        assert sorted(rows) == [(TENANT, "cr-0"), (TENANT, "cr-1"), (TENANT, "cr-2")]  # type: ignore[call-overload]

    # --- event logs ---------------------------------------------------------------------

    def test_every_ledger_is_an_event_log(self, rt: Runtime) -> None:
        assert sorted(rt.ledgers) == ["artifacts_ledger", "audit_events", "capreq_ledger"]
        log = rt.event_log("artifacts_ledger")

        def event(version: int, key: str | None) -> dict[str, Any]:
            values = artifact(artifact_version=version, idempotency_key=key)
            return {**{k: v for k, v in values.items() if k != "now"}, "created_at": version}

        with rt.transaction(read_only=False) as connection:
            first = log.write(connection, event(1, "art-1"))
            second = log.write(connection, event(2, None))
        assert (first.sequence, second.sequence) == (1, 2)
        with rt.transaction(read_only=True) as connection:
            assert [e.sequence for e in log.fetch_since(connection, 0)] == [1, 2]
            assert [e.row["artifact_version"] for e in log.fetch_since(connection, 1)] == [2]
            assert log.fetch_since(connection, 0, limit=1)[0].sequence == 1
        with pytest.raises(ValueError):
            rt.event_log("capreq_current")

    def test_tail_yields_events_as_they_arrive_and_stops_with_its_consumer(
        self, rt: Runtime
    ) -> None:
        sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
        rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, "k1"))

        async def consume() -> list[str]:
            seen: list[str] = []
            async for event in rt.event_log("capreq_ledger").tail(0, poll_seconds=0.01):
                seen.append(str(event.row["action"]))
                if len(seen) == 1:
                    rt.invoke(sim, "PH1CAPREQ_SUBMIT_FOR_APPROVAL_EXECUTE", capreq({}, "k2"))
                if len(seen) == 2:
                    break
            return seen

        assert asyncio.run(asyncio.wait_for(consume(), 30)) == [
            "CREATE_DRAFT",
            "SUBMIT_FOR_APPROVAL",
        ]

    def test_tail_wakes_on_an_append_without_blocking_the_event_loop(self, rt: Runtime) -> None:
        sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
        rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, "k0", "cr-0"))
        # PostgreSQL wakes the tail by NOTIFY: with a minute between polls, only the
        # notification can deliver the second event within the deadline. SQLite polls.
        poll = 60.0 if rt.engine.dialect.name == "postgresql" else 0.05

        async def scenario() -> tuple[list[int], int]:
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.01)

            async def append_later() -> None:
                await asyncio.sleep(0.5)
                payload = capreq(DRAFT, "k1", "cr-1")
                await asyncio.to_thread(rt.invoke, sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", payload)

            ticking = asyncio.create_task(ticker())
            writing = asyncio.create_task(append_later())
            seen: list[int] = []
            async for event in rt.event_log("capreq_ledger").tail(0, poll_seconds=poll):
                seen.append(event.sequence)
                if len(seen) == 2:
                    break
            await writing
            ticking.cancel()
            return seen, ticks

        seen, ticks = asyncio.run(asyncio.wait_for(scenario(), 20))
        assert seen == [1, 2]
        assert ticks >= 20, "the event loop stood still while the tail waited"

    def test_a_write_through_the_event_log_is_projected(self, rt: Runtime) -> None:
        sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
        rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, "k1"))
        current, ledger = rt.metadata.tables["capreq_current"], rt.metadata.tables["capreq_ledger"]
        with rt.transaction(read_only=True) as connection:
            (first,) = connection.execute(sa.select(ledger)).mappings().all()
        event = {k: v for k, v in first.items() if k != "capreq_event_id"}
        event.update(action="SUBMIT_FOR_APPROVAL", status="PENDING_APPROVAL", idempotency_key="k9")
        with rt.transaction(read_only=False) as connection:
            written = rt.event_log("capreq_ledger").write(connection, event)
            again = rt.event_log("capreq_ledger").write(connection, event)
        assert written.sequence == again.sequence == 2
        with rt.transaction(read_only=True) as connection:
            rows = connection.execute(sa.select(current.c.status)).scalars().all()
        assert rows == ["PENDING_APPROVAL"]

    def test_a_tenants_rebuild_and_replay_touch_only_their_scope(self, rt: Runtime) -> None:
        current = rt.metadata.tables["capreq_current"]
        for tenant in (TENANT, "tenant-2"):
            sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=tenant)
            rt.invoke(
                sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", {**capreq(DRAFT, "k1"), "tenant_id": tenant}
            )

        def tenants() -> list[str]:
            with rt.transaction(read_only=True) as connection:
                query = sa.select(current.c.tenant_id).order_by(current.c.tenant_id)
                return list(connection.execute(query).scalars())

        with rt.transaction(read_only=False) as connection:
            connection.execute(current.delete().where(current.c.tenant_id == "tenant-2"))
        writer = ProjectionWriter(rt, "capreq_ledger", TENANT)
        rt.event_log("capreq_ledger").replay(writer)
        assert tenants() == [TENANT]  # tenant-2's rows are neither rebuilt nor touched
        ctx = rt.context(caller="SELENE_OS", tenant_id="tenant-2")
        rt.invoke(ctx, "PH1CAPREQ_REBUILD_CURRENT_ROWS", {})
        assert tenants() == [TENANT, "tenant-2"]
        rt.event_log("capreq_ledger").replay(ProjectionWriter(rt, "capreq_ledger"))
        assert tenants() == [TENANT, "tenant-2"]

    def test_replay_through_the_projection_writer_equals_direct_writes(self, rt: Runtime) -> None:
        sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
        for n in range(4):
            rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, f"c{n}", f"cr-{n}"))
        rt.invoke(sim, "PH1CAPREQ_SUBMIT_FOR_APPROVAL_EXECUTE", capreq({}, "s", "cr-2"))
        rt.invoke(sim, "PH1CAPREQ_CANCEL_REVOKE_EXECUTE", capreq({}, "x", "cr-2"))
        current = rt.metadata.tables["capreq_current"]

        def snapshot() -> list[tuple[Any, ...]]:
            with rt.engine.connect() as connection:
                return [
                    tuple(r)
                    for r in connection.execute(
                        sa.select(current).order_by(current.c.tenant_id, current.c.capreq_id)
                    )
                ]

        direct = snapshot()
        highest = rt.event_log("capreq_ledger").replay(ProjectionWriter(rt, "capreq_ledger"))
        assert highest == 6
        assert snapshot() == direct
        assert [row[3] for row in direct] == ["DRAFT", "DRAFT", "CANCELED", "DRAFT"]

    # --- concurrency and crashes ------------------------------------------------------

    def test_concurrent_writers_with_one_key_get_one_row_and_one_id(self, rt: Runtime) -> None:
        writers = 8
        barrier = threading.Barrier(writers)
        results: list[object] = []

        def write(capability: str, payload: dict[str, Any]) -> None:
            ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
            barrier.wait()
            results.append(rt.invoke(ctx, capability, payload))

        for capability, payload, table in (
            ("ART_APPEND_ARTIFACT_LEDGER_ROW", artifact(), "artifacts_ledger"),
            ("PH1D_CHAT_COMMIT_ROW", commit_row(), "audit_events"),
        ):
            results.clear()
            threads = [
                threading.Thread(target=write, args=(capability, payload)) for _ in range(writers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert all(isinstance(r, Written) for r in results) and len(results) == writers
            assert len({r.id for r in results if isinstance(r, Written)}) == 1
            assert sum(1 for r in results if isinstance(r, Written) and not r.replayed) == 1
            assert self.count(rt, table) == (1 if table == "artifacts_ledger" else 2)

    def test_concurrent_first_actions_on_one_request_give_one_creation(self, rt: Runtime) -> None:
        writers = 8
        barrier = threading.Barrier(writers)
        outcomes: list[str] = []

        def create(n: int) -> None:
            sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id=TENANT)
            barrier.wait()
            try:
                rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", capreq(DRAFT, f"key-{n}"))
                outcomes.append("created")
            except TransitionInvalid:
                outcomes.append("refused")

        threads = [threading.Thread(target=create, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["created"] + ["refused"] * (writers - 1)
        assert self.count(rt, "capreq_ledger") == 1

    def test_a_killed_writer_leaves_no_partial_write(self, rt: Runtime, url: str) -> None:
        child = subprocess.Popen([sys.executable, "-c", WRITE_LOOP, url], cwd=REPO)
        try:
            deadline = time.monotonic() + 60
            while self.count(rt, "capreq_ledger") < 30 and time.monotonic() < deadline:
                assert child.poll() is None, "the writer stopped by itself"
                time.sleep(0.05)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        ledger = self.count(rt, "capreq_ledger")
        assert ledger >= 30
        with rt.engine.connect() as connection:
            audited = connection.exec_driver_sql(
                "SELECT count(*) FROM audit_events WHERE event_type = 'STATE_TRANSITION'"
            ).scalar_one()
        assert audited == ledger  # every ledger row has its audit row, and no more
        current = rt.metadata.tables["capreq_current"]

        def snapshot() -> list[tuple[Any, ...]]:
            with rt.engine.connect() as connection:
                return [
                    tuple(r)
                    for r in connection.execute(sa.select(current).order_by(current.c.capreq_id))
                ]

        direct = snapshot()
        rt.invoke(
            rt.context(caller="SELENE_OS", tenant_id=TENANT), "PH1CAPREQ_REBUILD_CURRENT_ROWS", {}
        )
        assert snapshot() == direct


WRITE_LOOP = f"""
import sys
from ecm_runtime import Runtime
rt = Runtime.open(sys.argv[1])
sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR", tenant_id={TENANT!r})
base = dict(now=1, tenant_id={TENANT!r}, correlation_id=1, turn_id=1, requester_user_id="u",
            simulation_id="s")
for n in range(100_000):
    rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", dict(base, capreq_id=f"k{{n}}",
              idempotency_key=f"c{{n}}", requested_capability_id="x", target_scope_ref="t",
              justification="j"))
    rt.invoke(sim, "PH1CAPREQ_SUBMIT_FOR_APPROVAL_EXECUTE", dict(base, capreq_id=f"k{{n}}",
              idempotency_key=f"s{{n}}"))
"""


class TestSQLite(RuntimeContract):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield sqlite_url(tmp_path)


class TestPostgreSQL(RuntimeContract):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield from postgres_url()
