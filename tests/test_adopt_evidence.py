"""An engine this repository has never seen, adopted from all its evidence (issue 25): an ECM
file in the shapes real files use (a bare side-effect token, `NONE (...)` with a comment, a
header version and status outside the common pattern), the DB wiring document it cites, and
SQL with a partial business guard, a DESC index, defaults and a foreign key. `ecmc init` must
draft every capability's operation (no handler left), the truth types, the event type the ECM
text names, and the acceptance tests with their functions; and the service must run as the
evidence says on both backends."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from ecm_contract import TruthType
from ecm_runtime import Runtime
from ecm_runtime.errors import ContractViolation
from ecm_runtime.testing import example_context

from ecmc.adopt.wiring_docs import read_wiring_document
from ecmc.commands.init import InitReport, run_init
from ecmc.pipeline import compile_texts
from storage import BACKENDS, backend_url

ECM = """# DEMO.ORDERS ECM Spec

## Engine Header
- `engine_id`: `DEMO.ORDERS`
- `purpose`: Keep order events append-only and the current order status rebuildable.
- `data_owned`: `order_events`, `orders_current`
- `version`: `vNext`
- `status`: `DONE (design-level)`

## Capability List

### `DEMO_ORDERS_APPEND_EVENT`
- `name`: Append one order event with idempotency guard
- `input_schema`: `(OrderEventInput, idempotency_key)`
- `output_schema`: `Result<OrderEventId, StorageError>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `INTERNAL_DB_WRITE`

### `DEMO_ORDERS_READ_EVENTS`
- `name`: Read order events for one order
- `input_schema`: `OrderId`
- `output_schema`: `Vec<OrderEventRecord>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE (result packet only; no writes)`

### `DEMO_ORDERS_READ_CURRENT`
- `name`: Read the current order row by `order_id`
- `input_schema`: `OrderId`
- `output_schema`: `Option<OrderCurrentRecord>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

### `DEMO_ORDERS_REBUILD_CURRENT`
- `name`: Rebuild current order rows from the order event ledger
- `input_schema`: `none`
- `output_schema`: `Result<(), StorageError>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `DECLARED (DB_WRITE)`

## Failure Modes + Reason Codes
- contract validation failure: `DO_CONTRACT_VALIDATION_FAILED`
- idempotency replay/no-op: `DO_IDEMPOTENCY_REPLAY`
- scope mismatch (tenant): `DO_SCOPE_VIOLATION`
- append-only violation: `DO_APPEND_ONLY_VIOLATION`

## Audit Emission Requirements Per Capability
- `DEMO_ORDERS_APPEND_EVENT` must emit PH1.J events with:
  - `event_type`: `ORDER_EVENT_APPENDED`
  - `reason_code`
  - `order_id`
- Read capabilities emit audit only in explicit replay/diagnostic mode.

## Sources
- `docs/DB_WIRING/DEMO_ORDERS.md`
"""

WIRING_DOC = """# DEMO.ORDERS DB Wiring Spec

## 1) Engine Header
- `engine_id`: `DEMO.ORDERS`

## 2) Data Owned (authoritative)
- `demo.order_events` (`LEDGER`, append-only; no in-place update)
- `demo.orders_current` (`CURRENT`, rebuildable from `order_events`)

## 4) Writes (outputs)

### Append order event
- writes: `order_events`
- idempotency_key rule (exact formula):
  - dedupe key = `(tenant_id, order_id, idempotency_key)`

## 7) Acceptance Tests (DB Wiring Proof)
- `AT-DO-01` tenant isolation enforced: `at_do_01_tenant_isolation`
- `AT-DO-02` append-only enforcement for `order_events`: `at_do_02_append_only`
- `AT-DO-03` idempotency dedupe works
  - `at_do_03_idempotency`
"""

SQL = """
CREATE TABLE order_events (
  event_id BIGSERIAL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  order_id TEXT NOT NULL,
  event_kind TEXT NOT NULL CHECK (event_kind IN ('PLACED', 'PAID', 'SHIPPED')),
  amount NUMERIC(12, 2) NOT NULL,
  archived BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  idempotency_key TEXT NOT NULL
);
CREATE UNIQUE INDEX order_events_idem ON order_events (tenant_id, order_id, idempotency_key);
CREATE UNIQUE INDEX order_events_live_kind ON order_events (tenant_id, order_id, event_kind)
  WHERE archived = FALSE;
CREATE INDEX order_events_recent ON order_events (tenant_id, created_at DESC);
CREATE TABLE orders_current (
  tenant_id TEXT NOT NULL,
  order_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('PLACED', 'PAID', 'SHIPPED')),
  last_event_id BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, order_id),
  FOREIGN KEY (last_event_id) REFERENCES order_events (event_id)
);
"""

PACKAGE = "orders_service_ecm"


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, InitReport]:
    """The evidence as a team has it: ECM files beside the `docs/DB_WIRING` they cite."""
    tmp = tmp_path_factory.mktemp("evidence")
    (tmp / "ecm").mkdir()
    (tmp / "ecm/DEMO_ORDERS.md").write_text(ECM, encoding="utf-8")
    (tmp / "docs/DB_WIRING").mkdir(parents=True)
    (tmp / "docs/DB_WIRING/DEMO_ORDERS.md").write_text(WIRING_DOC, encoding="utf-8")
    (tmp / "sql").mkdir()
    (tmp / "sql/0001_orders.sql").write_text(SQL, encoding="utf-8")
    repo = tmp / "orders-service"
    return repo, run_init(repo, tmp / "ecm", [tmp / "sql"], False)


def _wiring(repo: Path) -> str:
    return (repo / "specs/wiring/DEMO_ORDERS.md").read_text(encoding="utf-8")


def test_every_capability_is_bound_by_its_evidence(adopted: tuple[Path, InitReport]) -> None:
    _, report = adopted
    assert report.errors == []
    assert report.program is not None
    operations = {b.capability_id: b.operation for b in report.program.bindings}
    assert operations == {
        "DEMO_ORDERS_APPEND_EVENT": "append",
        "DEMO_ORDERS_READ_EVENTS": "read_many",
        "DEMO_ORDERS_READ_CURRENT": "read_one",
        "DEMO_ORDERS_REBUILD_CURRENT": "rebuild",
    }
    tables = {t.name: t for t in report.program.tables}
    assert tables["order_events"].truth_type is TruthType.LEDGER
    assert tables["orders_current"].projection_of == "order_events"
    # The event type the ECM audit rule names, not one made up from the table's name.
    append = next(b for b in report.program.bindings if b.operation == "append")
    assert append.event_type == "ORDER_EVENT_APPENDED"
    assert {t.name for t in report.program.audit_event_types} == {"ORDER_EVENT_APPENDED"}


def test_the_draft_keeps_what_the_schema_says(adopted: tuple[Path, InitReport]) -> None:
    repo, _ = adopted
    wiring = _wiring(repo)
    assert (
        "`order_events_live_kind`: `(tenant_id, order_id, event_kind)` where `(archived=false)`"
        in wiring
    )
    assert "`order_events_recent`: `(tenant_id, created_at)` descending `(created_at)`" in wiring
    assert "- `defaults`: `(archived=false, created_at=now)`" in wiring
    assert "- `project`: `(status=event_kind, last_event_id=event_id)`" in wiring
    assert "- `lookup`: `(order_id)`" in wiring  # the tenant completes the key


def test_the_readings_are_said_as_warnings(adopted: tuple[Path, InitReport]) -> None:
    repo, _ = adopted
    specs = {str(p.relative_to(repo)): p.read_text() for p in (repo / "specs").rglob("*.md")}
    result = compile_texts(specs)
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    said = [d.message for d in result.diagnostics if d.code == "ECM076"]
    assert any("version 'vNext'" in m for m in said)
    assert any("status 'DONE (design-level)'" in m for m in said)


def test_the_acceptance_tests_keep_their_functions(adopted: tuple[Path, InitReport]) -> None:
    _, report = adopted
    assert [(c.test_id, c.kind, c.function) for c in report.checks] == [
        ("AT-DO-01", "tenant", "at_do_01_tenant_isolation"),
        ("AT-DO-02", "append_only", "at_do_02_append_only"),
        ("AT-DO-03", "idempotency", "at_do_03_idempotency"),
    ]
    assert [c.title for c in report.checks][1] == "append-only enforcement for `order_events`"


@pytest.mark.parametrize(
    ("line", "function", "title"),
    [
        ("- `AT-X-01` tenant isolation: `at_x_01`", "at_x_01", "tenant isolation"),
        ("- `AT-X-02` `test_replay_is_one_write` replays", "test_replay_is_one_write", "replays"),
        ("- `AT-X-03` rebuild (`at_x_03_rebuild`)", "at_x_03_rebuild", "rebuild"),
        ("- `AT-X-04` append-only for `ledger_rows`", None, "append-only for `ledger_rows`"),
        ("- `AT-X-05` append-only -> `at_x_05`", "at_x_05", "append-only"),
    ],
)
def test_a_test_function_named_on_its_own_line_is_read(
    line: str, function: str | None, title: str
) -> None:
    text = f"# X\n\n- `engine_id`: `X.ONE`\n\n## 7) Acceptance Tests\n{line}\n"
    [test] = read_wiring_document(text, "X.md").tests
    assert (test.function, test.title) == (function, title)


@pytest.fixture(scope="module")
def package(adopted: tuple[Path, InitReport]) -> Iterator[str]:
    repo, _ = adopted
    sys.path.insert(0, str(repo / "generated"))
    importlib.invalidate_caches()
    yield PACKAGE
    sys.path.remove(str(repo / "generated"))
    for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[name]


EVENT = {
    "tenant_id": "t1",
    "order_id": "o1",
    "event_kind": "PLACED",
    "amount": 12.5,
    "archived": False,
    "now": 1_000,
    "idempotency_key": "k1",
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_service_runs_as_the_evidence_says(package: str, backend: str, tmp_path: Path) -> None:
    for url in backend_url(backend, tmp_path):
        rt = Runtime.open(url, package=package)
        try:
            assert rt.verify_schema() == []
            ctx = example_context(rt, "SELENE_OS", "t1")
            first = rt.invoke(ctx, "DEMO_ORDERS_APPEND_EVENT", EVENT)
            again = rt.invoke(ctx, "DEMO_ORDERS_APPEND_EVENT", EVENT)
            assert (again.id, again.replayed, again.reason_code) == (
                first.id,
                True,
                "DO_IDEMPOTENCY_REPLAY",
            )
            # The partial business guard: one live event of a kind per order.
            with pytest.raises(ContractViolation) as refused:
                rt.invoke(ctx, "DEMO_ORDERS_APPEND_EVENT", {**EVENT, "idempotency_key": "k2"})
            assert refused.value.reason_code == "DO_CONTRACT_VALIDATION_FAILED"
            paid = {**EVENT, "event_kind": "PAID", "idempotency_key": "k3"}
            rt.invoke(ctx, "DEMO_ORDERS_APPEND_EVENT", paid)
            events = rt.invoke(ctx, "DEMO_ORDERS_READ_EVENTS", {"order_id": "o1"})
            assert [e.event_kind for e in events] == ["PLACED", "PAID"]
            # The database's defaults, alike on both backends.
            assert [e.archived for e in events] == [False, False]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", events[0].created_at)
            rt.invoke(ctx, "DEMO_ORDERS_REBUILD_CURRENT", {})
            current = rt.invoke(ctx, "DEMO_ORDERS_READ_CURRENT", {"order_id": "o1"})
            assert (current.status, current.last_event_id) == ("PAID", events[1].event_id)
            stranger = example_context(rt, "SELENE_OS", "t2")
            assert rt.invoke(stranger, "DEMO_ORDERS_READ_CURRENT", {"order_id": "o1"}) is None
            with pytest.raises(sa.exc.DBAPIError), rt.engine.begin() as connection:
                connection.execute(sa.text("UPDATE order_events SET amount = 1"))
        finally:
            rt.close()
