"""The audit log's contract on both backends: bounded payloads, event types with their own
allow-lists and severities, rows that stay visible to the tenant they were written for, and
the zero-setup time tool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime, StorageError
from ecm_runtime.canonical import canonical_json
from ecm_runtime.errors import ContractViolation, ScopeViolation
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from conftest import REPO, compile_with_project
from storage import postgres_url, sqlite_url

TENANT, OTHER = "tenant-a", "tenant-b"
NOW = 1_700_000_000_000


def event(**changes: Any) -> dict[str, Any]:
    base = {
        "now": NOW,
        "engine": "PH1.J",
        "event_type": "GATE_PASS",
        "reason_code": "J_IDEMPOTENCY_REPLAY",
        "severity": "INFO",
        "correlation_id": 77,
        "turn_id": 1,
        "payload_min": {"gate": "wake"},
    }
    return {**base, **changes}


def decision(**changes: Any) -> dict[str, Any]:
    base = {
        "now": NOW,
        "tenant_id": TENANT,
        "correlation_id": 78,
        "turn_id": 1,
        "user_id": "user-1",
        "device_id": "device-1",
        "request_id": "r",
        "prompt_template_version": "v1",
        "output_schema_hash": "h",
        "tool_catalog_hash": "h",
        "policy_context_hash": "h",
        "transcript_hash": "h",
        "model_id": "m",
        "model_route_class": "PRIMARY",
        "temperature_bp": 1,
        "max_tokens": 10,
        "reason_code": "D_FAIL_TIMEOUT",
        "idempotency_key": "k",
    }
    return {**base, **changes}


class AuditContract:
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield ""

    @pytest.fixture
    def rt(self, url: str) -> Iterator[Runtime]:
        runtime = Runtime.open(url, clock=lambda: NOW)
        yield runtime
        runtime.close()

    def rows(self, rt: Runtime) -> list[dict[str, Any]]:
        table = rt.metadata.tables["audit_events"]
        with rt.engine.connect() as connection:
            query = sa.select(table).order_by(table.c.event_id)
            return [dict(row) for row in connection.execute(query).mappings()]

    def refused(self, rt: Runtime, ctx: Any, capability: str, payload: dict[str, Any]) -> str:
        before = self.rows(rt)
        with pytest.raises(StorageError) as raised:
            rt.invoke(ctx, capability, payload)
        assert self.rows(rt) == before, "a refused call wrote a row"
        return raised.value.reason_code

    # --- bounded payloads ---------------------------------------------------------------

    @pytest.mark.parametrize(
        "payload_min",
        [
            "a string",
            ["a", "list"],
            7,
            None,
            {"gate": "x" * 10_000_000},
            {"gate": ""},
            {f"k{n}": "v" for n in range(25)},
        ],
        ids=["string", "list", "number", "null", "10MB", "empty-string", "25-entries"],
    )
    def test_payloads_outside_the_bounds_are_refused(self, rt: Runtime, payload_min: Any) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        code = self.refused(rt, ctx, "PH1J_APPEND_AUDIT_EVENT", event(payload_min=payload_min))
        assert code == "J_CONTRACT_VALIDATION_FAILED"

    def test_a_payload_the_runtime_builds_obeys_the_same_bounds(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        long_question = "w" * 300  # a valid field value, too long for an audit string
        code = self.refused(
            rt, ctx, "PH1D_CLARIFY_COMMIT_ROW", decision(what_is_missing=long_question)
        )
        assert code == "D_FAIL_INVALID_SCHEMA"

    def test_a_nul_is_refused_and_its_escaped_spelling_is_text(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        code = self.refused(
            rt, ctx, "PH1J_APPEND_AUDIT_EVENT", event(payload_min={"gate": "a\x00"})
        )
        assert code == "J_CONTRACT_VALIDATION_FAILED"
        spelled = {"gate": "\\u0000 is six characters"}
        rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", event(payload_min=spelled, idempotency_key="n"))
        assert [row["payload_min"] for row in self.rows(rt)] == [spelled]

    def test_the_runtime_stores_what_a_core_insert_stores(self, rt: Runtime) -> None:
        """The audit row a write inserts on the driver reads back exactly as the same row
        inserted through SQLAlchemy Core: bind processing (JSON, numbers) is the types' own."""
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT, correlation_id=2**100)
        payload = {"gate": 'é ✓ \U0001f600 "quoted"'}
        rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", event(payload_min=payload, correlation_id=2**100))
        [stored] = self.rows(rt)
        table = rt.metadata.tables["audit_events"]
        again = {k: v for k, v in stored.items() if k != "event_id"} | {"idempotency_key": "c"}
        with rt.engine.begin() as connection:
            connection.execute(sa.insert(table), again)
        stored_text = sa.select(sa.cast(table.c.payload_min, sa.Text), table.c.correlation_id)
        with rt.engine.connect() as connection:
            first, second = connection.execute(stored_text.order_by(table.c.event_id)).all()
        assert first == second
        # Each row's position is its own transaction's (ecm_xact, set on PostgreSQL).
        again_row = self.rows(rt)[1]
        expected = stored | {"event_id": 2, "idempotency_key": "c"}
        assert {k: v for k, v in again_row.items() if k != "ecm_xact"} == {
            k: v for k, v in expected.items() if k != "ecm_xact"
        }

    # --- event types --------------------------------------------------------------------

    def test_each_event_type_allows_its_own_keys(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", event(idempotency_key="g"))
        transition = event(
            event_type="STATE_TRANSITION",
            payload_min={"state_from": "DRAFT", "state_to": "OPEN"},
            idempotency_key="s",
        )
        rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", transition)
        assert [row["payload_min"] for row in self.rows(rt)] == [
            {"gate": "wake"},
            {"state_from": "DRAFT", "state_to": "OPEN"},
        ]

    @pytest.mark.parametrize(
        "changes",
        [
            {"event_type": "STATE_TRANSITION"},  # {gate} is GATE_PASS's key, not this type's
            {"event_type": "NEVER_DECLARED"},
            {"engine": "NO.SUCH.ENGINE", "event_type": "ToolOk"},
            {"event_type": "TOOL_FAIL", "payload_min": {"tool_name": "t"}, "severity": "INFO"},
        ],
        ids=["other-type's-key", "undeclared-type", "unknown-engine", "wrong-severity"],
    )
    def test_what_an_event_type_does_not_allow_is_refused(
        self, rt: Runtime, changes: dict[str, Any]
    ) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        code = self.refused(rt, ctx, "PH1J_APPEND_AUDIT_EVENT", event(**changes))
        assert code == "J_CONTRACT_VALIDATION_FAILED"

    def test_severity_follows_the_declared_event_type_and_decision(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT, correlation_id=78)
        rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", decision(idempotency_key="chat"))
        rt.invoke(
            ctx, "PH1D_CLARIFY_COMMIT_ROW", decision(idempotency_key="c", what_is_missing="d")
        )
        rt.invoke(ctx, "PH1D_FAIL_CLOSED_COMMIT_ROW", decision(idempotency_key="f", fail_code="F"))
        tool = {
            "tenant_id": TENANT,
            "correlation_id": 78,
            "turn_id": 1,
            "user_id": "u",
            "device_id": "d",
            "query": "rain?",
            "idempotency_key": "w",
        }
        with pytest.raises(StorageError) as failed:  # no weather provider: audited as ToolFail
            rt.invoke(ctx, "PH1E_TOOL_WEATHER_QUERY", tool)
        assert failed.value.reason_code == "E_FAIL_FORBIDDEN_TOOL"
        seen = [(r["engine"], r["event_type"], r["severity"]) for r in self.rows(rt)]
        assert seen == [
            ("PH1.D", "Other", "INFO"),
            ("PH1.D", "Other", "WARN"),
            ("PH1.D", "Other", "ERROR"),
            ("PH1.E", "ToolFail", "WARN"),
        ]

    # --- tenants ------------------------------------------------------------------------

    def test_an_event_without_a_tenant_belongs_to_the_callers_tenant(self, rt: Runtime) -> None:
        mine = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        written = rt.invoke(mine, "PH1J_APPEND_AUDIT_EVENT", event(idempotency_key="t"))
        assert [row["tenant_id"] for row in self.rows(rt)] == [TENANT]
        read = rt.invoke(mine, "PH1J_READ_AUDIT_EVENTS_BY_TENANT", {"tenant_id": TENANT})
        assert [e.event_id for e in read] == [written.id]  # type: ignore[attr-defined,union-attr]
        theirs = rt.context(caller="SELENE_OS", tenant_id=OTHER)
        assert rt.invoke(theirs, "PH1J_READ_AUDIT_EVENTS_BY_TENANT", {"tenant_id": OTHER}) == ()
        by_thread = rt.invoke(
            theirs, "PH1J_READ_AUDIT_EVENTS_BY_CORRELATION", {"correlation_id": 77}
        )
        assert by_thread == ()

    def test_an_event_naming_another_tenant_is_refused(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        code = self.refused(rt, ctx, "PH1J_APPEND_AUDIT_EVENT", event(tenant_id=OTHER))
        assert code == "J_TENANT_SCOPE_VIOLATION"

    def test_a_system_context_keeps_to_the_rows_of_no_tenant(self, rt: Runtime) -> None:
        system = rt.context(caller="SELENE_OS")
        rt.invoke(system, "PH1J_APPEND_AUDIT_EVENT", event(idempotency_key="sys"))
        assert [row["tenant_id"] for row in self.rows(rt)] == [None]
        tenant = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        assert (
            rt.invoke(tenant, "PH1J_READ_AUDIT_EVENTS_BY_CORRELATION", {"correlation_id": 77}) == ()
        )
        seen = rt.invoke(system, "PH1J_READ_AUDIT_EVENTS_BY_CORRELATION", {"correlation_id": 77})
        assert len(seen) == 1  # type: ignore[arg-type]
        with pytest.raises(ScopeViolation):
            rt.invoke(system, "PH1J_READ_AUDIT_EVENTS_BY_TENANT", {"tenant_id": TENANT})
        sim = rt.context(caller="SELENE_OS_SIMULATION_EXECUTOR")
        request = {
            "now": NOW,
            "correlation_id": 1,
            "turn_id": 1,
            "capreq_id": "cr",
            "requester_user_id": "u",
            "simulation_id": "s",
            "idempotency_key": "k",
            "requested_capability_id": "c",
            "target_scope_ref": "t",
            "justification": "j",
        }
        with pytest.raises(ContractViolation):  # the request names no tenant: input refused
            rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", request)
        with pytest.raises(ScopeViolation):  # and it may not name one for a system context
            rt.invoke(sim, "PH1CAPREQ_CREATE_DRAFT_EXECUTE", {**request, "tenant_id": TENANT})

    # --- the zero-setup time tool -------------------------------------------------------

    def test_the_time_tool_answers_on_a_fresh_runtime(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT, correlation_id=5)
        query = {
            "tenant_id": TENANT,
            "correlation_id": 5,
            "turn_id": 1,
            "user_id": "u",
            "device_id": "d",
            "query": "what time is it in Tokyo",
        }
        first = rt.invoke(ctx, "PH1E_TOOL_TIME_QUERY", {**query, "idempotency_key": "q1"})
        second = rt.invoke(ctx, "PH1E_TOOL_TIME_QUERY", {**query, "idempotency_key": "q2"})
        assert "Asia/Tokyo" in first.answer_text  # type: ignore[attr-defined]
        assert second == first
        # The typed wrapper: the same query, typed in and out.
        from selene_ecm.engines import ph1_e

        typed = ph1_e.ToolTimeQueryInput.model_validate({**query, "idempotency_key": "q3"})
        answer = ph1_e.tool_time_query(ctx, typed)
        assert isinstance(answer, ph1_e.ToolTimeQueryOutput) and answer == first
        rows = [r for r in self.rows(rt) if r["engine"] == "PH1.E"]  # the cache write is ART's
        assert [(r["event_type"], r["payload_min"]["cache_status"]) for r in rows] == [
            ("ToolOk", "MISS"),
            ("ToolOk", "HIT"),
            ("ToolOk", "HIT"),  # the typed wrapper's call
        ]


class TestSQLite(AuditContract):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield sqlite_url(tmp_path)


class TestPostgreSQL(AuditContract):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield from postgres_url()


def test_the_default_runtime_needs_no_setup_for_the_time_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ECM_DATABASE_URL", raising=False)
    rt = Runtime.open()
    try:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        answer = rt.invoke(
            ctx,
            "PH1E_TOOL_TIME_QUERY",
            {
                "tenant_id": TENANT,
                "correlation_id": 1,
                "turn_id": 1,
                "user_id": "u",
                "device_id": "d",
                "query": "what time is it in Tokyo",
                "idempotency_key": "k",
            },
        )
        assert "Asia/Tokyo" in answer.answer_text  # type: ignore[attr-defined]
        assert (tmp_path / "ecm.sqlite3").is_file()
    finally:
        rt.close()


JSON_LEAVES = st.one_of(st.text(max_size=300), st.integers(), st.booleans(), st.none())
KEYS = st.text(min_size=1, max_size=12)
PAYLOADS = st.one_of(
    st.dictionaries(KEYS, st.one_of(JSON_LEAVES, st.lists(JSON_LEAVES, max_size=3)), max_size=12),
    st.dictionaries(KEYS, st.integers(), min_size=22, max_size=26),  # around the entry limit
)


@pytest.fixture(scope="module")
def schema_only() -> Iterator[Runtime]:
    runtime = Runtime.open("sqlite://", create=False)
    yield runtime
    runtime.close()


@settings(max_examples=300, deadline=None)
@given(payload=PAYLOADS)
def test_the_runtime_bounds_a_payload_as_the_field_dictionary_does(
    schema_only: Runtime, payload: Any
) -> None:
    # The runtime checks the payload's JSON limits on the canonical text it then digests, apart
    # from the rest of the field's type; together they must accept what the field accepts.
    rt = schema_only
    field = rt.capabilities["PH1J_APPEND_AUDIT_EVENT"].input_model.model_fields["payload_min"]
    whole: TypeAdapter[Any] = TypeAdapter(Annotated[field.annotation, field])
    try:
        whole.validate_python(payload)
        accepted = True
    except ValidationError:
        accepted = False
    problem, canonical = rt.audit.event_types.bounded(payload)
    assert (problem is None) == accepted, problem
    if accepted:
        assert canonical == canonical_json(payload)


def test_an_audit_append_taking_its_own_type_needs_types_its_engine_may_emit() -> None:
    """Without one declared event type, the runtime would refuse every call: a compile error."""
    path = "specs/wiring/PH1_J.md"
    text = (REPO / path).read_text()
    start = text.index("## Audit Event Types")
    end = text.index("\n## ", start + 1)
    result = compile_with_project({path: text[:start] + text[end + 1 :]})
    found = [d for d in result.diagnostics if "takes its own event_type" in d.message]
    assert [d.severity for d in found] == ["error"]
    assert found[0].message.startswith("PH1J_APPEND_AUDIT_EVENT takes its own event_type")


# --- the append's JSON Schema says what the runtime takes ----------------------------------


def _schema_admits(schema: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether an event meets one variant of the schema's `anyOf` (the part that tells event
    types apart: their names, engines, payload keys and severities)."""
    for variant in schema["anyOf"]:
        properties = variant["properties"]
        if properties["event_type"]["const"] != event["event_type"]:
            continue
        engine = properties.get("engine", {})
        if event["engine"] not in engine.get("enum", [engine.get("const", event["engine"])]):
            continue
        allowed = properties["payload_min"]["properties"].keys()
        if not event["payload_min"].keys() <= allowed:
            continue
        severity = properties.get("severity")
        if severity is None or event.get("severity") == severity["const"]:
            return True
    return False


def test_the_append_schema_admits_exactly_what_the_runtime_accepts(tmp_path: Path) -> None:
    from selene_ecm.records import AuditEventInput

    schema = AuditEventInput.model_json_schema()
    rt = Runtime.open(sqlite_url(tmp_path))
    ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
    engines = sorted({spec.engine_id for spec in rt.capabilities.values()})
    names = [*sorted({t.name for t in rt.event_types}), "NEVER_DECLARED"]
    keys = sorted({k for t in rt.event_types for k in t.payload_keys})
    cases = 0
    for engine in engines:
        code = next(s.reason_codes[0] for s in rt.capabilities.values() if s.engine_id == engine)
        for name in names:
            for payload in ({}, *({key: "x"} for key in keys), {"not_a_key": "x"}):
                candidate = event(
                    engine=engine,
                    event_type=name,
                    payload_min=payload,
                    reason_code=code,
                    severity="WARN" if cases % 2 else "INFO",
                    idempotency_key=f"k{cases}",
                )
                cases += 1
                try:
                    rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", candidate)
                    accepted = True
                except ContractViolation:
                    accepted = False
                assert _schema_admits(schema, candidate) == accepted, candidate
    assert cases >= 100
    rt.close()
