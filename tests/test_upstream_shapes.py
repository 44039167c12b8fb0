"""A new engine written in the shapes real ECM files use runs as its spec says, on both backends.

The engine keeps sessions in a CURRENT state table with a text key and a tenant column, kept by
upserts with no ledger behind it; its upsert takes `(Record, idempotency_key)` (the record's
fields spread flat), its read takes an alias of a field, and its map read is keyed by that
alias. No Python changes: specs only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime, StorageError, Written
from ecm_runtime.errors import ScopeViolation

from conftest import make_project, problems
from ecmc.commands.build import build
from ecmc.config import load_config
from storage import postgres_url, sqlite_url

ECM = """# DEMO.SESSIONS ECM Spec

## Engine Header
- `engine_id`: `DEMO.SESSIONS`
- `purpose`: Keep the current state of each session under strict idempotency.
- `data_owned`: `demo_sessions` (owned write scope)
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `SESS_UPSERT_SESSION_ROW`
- `name`: Upsert a session row with an idempotency guard
- `input_schema`: `(DemoSessionRecord, idempotency_key)`
- `output_schema`: `Result<DemoSessionId, StorageError>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `DECLARED (DB_WRITE)`

### `SESS_READ_SESSION_ROW`
- `name`: Read one session row by `session_id`
- `input_schema`: `DemoSessionId`
- `output_schema`: `Option<DemoSessionRecord>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

### `SESS_READ_SESSION_ROWS`
- `name`: Read the session map
- `input_schema`: `none`
- `output_schema`: `Map<DemoSessionId, DemoSessionRecord>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

## Failure Modes + Reason Codes
- session contract validation failure: `SESS_CONTRACT_VALIDATION_FAILED`
- idempotency replay/no-op: `SESS_IDEMPOTENCY_REPLAY`
- scope mismatch: `SESS_SCOPE_VIOLATION`

## Audit Emission Requirements Per Capability
- `SESS_UPSERT_SESSION_ROW` must emit PH1.J events with:
  - `event_type`: `STATE_TRANSITION`
  - `reason_code`
  - `session_id`
  - `correlation_id`
  - `turn_id`
  - `idempotency_key` when present
- Read capabilities emit audit only in explicit replay/diagnostic mode.
"""
COLUMNS = "session_id, tenant_id, user_id, device_id, session_state, opened_at, last_activity_at"
WIRING = f"""# DEMO.SESSIONS Wiring

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `DEMO.SESSIONS`

## Tables

### `demo_sessions`
- `truth_type`: `CURRENT`
- `columns`: `({COLUMNS}, closed_at?, quality_ratio?)`
- `primary_key`: `(tenant_id, session_id)`
- `tenant_column`: `tenant_id`

## Records

### `DemoSessionRecord`
- `row_of`: `demo_sessions`

### `DemoSessionId`
- `alias_of`: `session_id`

## Reason Codes
- `SESS_OK_UPSERT`: a session row was written

## Audit Event Types

### `STATE_TRANSITION`
- `severity`: `INFO`

## Capability Bindings

### `SESS_UPSERT_SESSION_ROW`
- `operation`: `upsert`
- `table`: `demo_sessions`
- `event_type`: `STATE_TRANSITION`
- `reason_code`: `SESS_OK_UPSERT`

### `SESS_READ_SESSION_ROW`
- `operation`: `read_one`
- `table`: `demo_sessions`
- `lookup`: `session_id`

### `SESS_READ_SESSION_ROWS`
- `operation`: `read_map`
- `table`: `demo_sessions`

## Reason Code Roles
- `contract_validation`: `SESS_CONTRACT_VALIDATION_FAILED`
- `idempotency_replay`: `SESS_IDEMPOTENCY_REPLAY`
- `scope_violation`: `SESS_SCOPE_VIOLATION`
- `caller_refused`: `SESS_SCOPE_VIOLATION`
"""
FIELDS = """# Demo Session Fields

## Spec Header
- `kind`: `FIELD_DICTIONARY`

## Fields
- `session_state`: `enum(OPEN|ACTIVE|SOFT_CLOSED|CLOSED|SUSPENDED)` — where a session stands
- `quality_ratio`: `float` — a fraction (DOUBLE PRECISION in the real database)
"""
A, B = "tenant-a", "tenant-b"


@pytest.fixture(scope="module")
def package(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    import importlib
    import sys

    root = make_project(
        tmp_path_factory.mktemp("sessions") / "project",
        "sessions_ecm",
        {
            "common/session_fields.md": FIELDS,
            "ecm/DEMO_SESSIONS.md": ECM,
            "wiring/DEMO_SESSIONS.md": WIRING,
        },
    )
    project, report = build(load_config(root))
    assert problems(project.result.diagnostics) == [], project.result.diagnostics
    assert report is not None
    sys.path.insert(0, str(root / "generated"))
    importlib.invalidate_caches()
    yield "sessions_ecm"
    sys.path.remove(str(root / "generated"))
    for name in [m for m in sys.modules if m.split(".")[0] == "sessions_ecm"]:
        del sys.modules[name]


def session(state: str, key: str, **changes: Any) -> dict[str, Any]:
    row = {
        "session_id": "s-1",
        "tenant_id": A,
        "user_id": "u-1",
        "device_id": "d-1",
        "session_state": state,
        "opened_at": 1,
        "last_activity_at": 2,
        "idempotency_key": key,
    }
    return {**row, **changes}


class UpstreamShapes:
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield ""

    @pytest.fixture
    def rt(self, url: str, package: str) -> Iterator[Runtime]:
        runtime = Runtime.open(url, package=package, clock=lambda: 5)
        yield runtime
        runtime.close()

    def audit_rows(self, rt: Runtime) -> list[dict[str, Any]]:
        table = rt.metadata.tables["audit_events"]
        with rt.engine.connect() as connection:
            query = sa.select(table).where(table.c.engine == "DEMO.SESSIONS")
            return [
                dict(r) for r in connection.execute(query.order_by(table.c.event_id)).mappings()
            ]

    def state(self, rt: Runtime, tenant: str = A) -> Any:
        ctx = rt.context(caller="SELENE_OS", tenant_id=tenant)
        return rt.invoke(ctx, "SESS_READ_SESSION_ROW", {"session_id": "s-1"})

    def test_retries_replay_per_key_and_never_roll_state_back(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=A, correlation_id=7, turn_id=3)
        first = rt.invoke(ctx, "SESS_UPSERT_SESSION_ROW", session("OPEN", "k-open"))
        assert first == Written("s-1", False, "SESS_OK_UPSERT")
        second = rt.invoke(ctx, "SESS_UPSERT_SESSION_ROW", session("ACTIVE", "k-active"))
        assert second == Written("s-1", False, "SESS_OK_UPSERT")
        audited = len(self.audit_rows(rt))
        retry = rt.invoke(ctx, "SESS_UPSERT_SESSION_ROW", session("OPEN", "k-open"))
        assert retry == Written("s-1", True, "SESS_IDEMPOTENCY_REPLAY")
        assert self.state(rt).session_state == "ACTIVE"  # not rolled back to OPEN
        assert len(self.audit_rows(rt)) == audited  # a replay writes no audit row

    def test_a_float_column_keeps_its_fraction_and_refuses_what_json_cannot_say(
        self, rt: Runtime
    ) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=A)
        rt.invoke(ctx, "SESS_UPSERT_SESSION_ROW", session("OPEN", "k-f", quality_ratio=0.125))
        assert self.state(rt).quality_ratio == 0.125
        for bad in (float("nan"), float("inf"), "0.5", True):
            with pytest.raises(StorageError) as refused:
                rt.invoke(ctx, "SESS_UPSERT_SESSION_ROW", session("OPEN", "k-g", quality_ratio=bad))
            assert refused.value.reason_code == "SESS_CONTRACT_VALIDATION_FAILED"

    def test_concurrent_retries_of_one_key_write_once(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=A)
        answers: list[Any] = []

        def write() -> None:
            answers.append(rt.invoke(ctx, "SESS_UPSERT_SESSION_ROW", session("OPEN", "k-x")))

        threads = [threading.Thread(target=write) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(a.replayed for a in answers) == [False] + [True] * 7
        assert {a.id for a in answers} == {"s-1"}
        assert len(self.audit_rows(rt)) == 1

    def test_audit_rows_carry_the_keys_the_spec_lists(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=A, correlation_id=7, turn_id=3)
        rt.invoke(ctx, "SESS_UPSERT_SESSION_ROW", session("OPEN", "k-1"))
        (row,) = self.audit_rows(rt)
        assert (row["event_type"], row["reason_code"]) == ("STATE_TRANSITION", "SESS_OK_UPSERT")
        assert (row["session_id"], row["idempotency_key"]) == ("s-1", "k-1")
        assert (row["correlation_id"], row["turn_id"], row["tenant_id"]) == (7, 3, A)
        assert row["payload_min"] == {}

    def test_another_tenant_neither_reads_nor_overwrites_the_row(self, rt: Runtime) -> None:
        mine = rt.context(caller="SELENE_OS", tenant_id=A)
        rt.invoke(mine, "SESS_UPSERT_SESSION_ROW", session("OPEN", "k-a"))
        assert self.state(rt, B) is None
        theirs = rt.context(caller="SELENE_OS", tenant_id=B)
        assert rt.invoke(theirs, "SESS_READ_SESSION_ROWS", {}) == {}
        # The same session id in B is B's own row (a key is its tenant's): A's is untouched.
        rt.invoke(theirs, "SESS_UPSERT_SESSION_ROW", session("CLOSED", "k-b", tenant_id=B))
        assert self.state(rt).session_state == "OPEN"
        assert self.state(rt, B).session_state == "CLOSED"
        with pytest.raises(ScopeViolation) as refused:
            rt.invoke(theirs, "SESS_UPSERT_SESSION_ROW", session("CLOSED", "k-c", tenant_id=A))
        assert refused.value.reason_code == "SESS_SCOPE_VIOLATION"

    def test_the_map_is_keyed_by_the_aliased_field(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=A)
        rt.invoke(ctx, "SESS_UPSERT_SESSION_ROW", session("OPEN", "k-1"))
        rt.invoke(ctx, "SESS_UPSERT_SESSION_ROW", session("OPEN", "k-2", session_id="s-2"))
        rows = rt.invoke(ctx, "SESS_READ_SESSION_ROWS", {})
        assert sorted(rows) == [("s-1",), ("s-2",)]  # type: ignore[call-overload]

    def test_the_typed_wrappers_take_the_flat_shapes(
        self, rt: Runtime, package: str, import_module: Callable[[str], ModuleType]
    ) -> None:
        engine = import_module(f"{package}.engines.demo_sessions")
        ctx = rt.context(caller="SELENE_OS", tenant_id=A)
        payload = engine.UpsertSessionRowInput(**session("OPEN", "k-1"))
        assert engine.upsert_session_row(ctx, payload).id == "s-1"
        found = engine.read_session_row(ctx, engine.ReadSessionRowInput(session_id="s-1"))
        assert found is not None and found.user_id == "u-1"


@pytest.fixture
def import_module() -> Callable[[str], ModuleType]:
    import importlib

    return importlib.import_module


class TestSQLite(UpstreamShapes):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield sqlite_url(tmp_path)


class TestPostgreSQL(UpstreamShapes):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield from postgres_url()
