"""Nothing one tenant does is visible to or changes anything of another (issue 24), on both
backends: tenant B writes a little of everything first; then, for every capability of the
catalog, tenant A calls it with inputs drawn from its schema (naming A, naming B, or steered
to succeed), and B's rows of every tenant-scoped table, and what B's reads answer, stay
exactly as they were, and no read of B ever returns A's rows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime, StorageError
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.tools import ToolPolicy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schema_strategy import from_schema
from storage import BACKENDS, backend_runtime, legal_input

A, B = "tenant-a", "tenant-b"
EXAMPLES = int(os.environ.get("ECM_ISOLATION_EXAMPLES", "6"))
TENANT_FIELDS = ("tenant_id", "scope_id")


@pytest.fixture(scope="module", params=BACKENDS)
def rt(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    for runtime in backend_runtime(request.param, tmp_path_factory):
        for spec in runtime.catalog:
            if spec.tool_name:
                runtime.tools.register(spec.tool_name, Echo(spec.tool_name))
        runtime.tools.policy = ToolPolicy(allowed_domains=frozenset({"example.org"}))
        for spec in sorted(runtime.catalog, key=lambda s: s.id):
            if spec.writes:
                _call(runtime, spec, _as(legal_input(runtime, spec), B), B)
        yield runtime


class Echo:
    """A provider that answers with what it is given (a leak would show in B's answers)."""

    def __init__(self, tool: str) -> None:
        self.tool = tool

    def __call__(self, request: BaseModel) -> dict[str, Any]:
        return {
            "tool_name": self.tool,
            "answer_text": repr(request.model_dump()),
            "summary": "s",
            "action_items": ["a"],
            "evidence_refs": ["e"],
            "structured_fields": {"k": 1},
            "citations": ["c"],
            "provenance": {"source": "echo", "retrieved_at": 1},
        }


def _as(payload: dict[str, Any], tenant: str) -> dict[str, Any]:
    return {**payload, **{f: tenant for f in TENANT_FIELDS if f in payload}}


def _call(rt: Runtime, spec: CapabilitySpec, payload: dict[str, Any], tenant: str) -> Any:
    ctx = rt.context(spec.callers[0], tenant)
    try:
        return rt.invoke(ctx, spec.id, payload)
    except StorageError as refused:
        return ("refused", refused.reason_code)


def b_rows(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of B in every table whose rows belong to tenants."""
    found = {}
    with rt.engine.connect() as connection:
        for name, table in sorted(rt.metadata.tables.items()):
            tenant = table.info.get("tenant_column")
            if tenant:
                query = sa.select(table).where(table.c[tenant] == B)
                rows = connection.execute(query.order_by(*table.primary_key.columns))
                found[name] = [tuple(row) for row in rows]
    return found


def b_reads(rt: Runtime) -> dict[str, Any]:
    """What every read of the catalog answers B."""
    answers = {}
    for spec in sorted(rt.catalog, key=lambda s: s.id):
        if spec.operation in ("read_one", "read_many", "read_map"):
            answer = _call(rt, spec, _as(legal_input(rt, spec), B), B)
            assert A not in repr(answer), (spec.id, answer)  # never A's rows
            answers[spec.id] = repr(answer)
    return answers


def test_nothing_a_tenant_does_is_seen_or_felt_by_another(rt: Runtime) -> None:
    before_rows, before_reads = b_rows(rt), b_reads(rt)
    assert any(before_rows.values())  # B holds something to protect
    for spec in sorted(rt.catalog, key=lambda s: s.id):
        act_as_a(rt, spec)
        assert b_rows(rt) == before_rows, spec.id
        assert b_reads(rt) == before_reads, spec.id


def act_as_a(rt: Runtime, spec: CapabilitySpec) -> None:
    """Tenant A calls `spec` with drawn inputs: as drawn, steered to succeed, or naming B."""
    strategy = from_schema(spec.input_schema)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def act(data: st.DataObject) -> None:
        how = data.draw(st.sampled_from(["drawn", "legal", "names-b"]))
        payload = legal_input(rt, spec) if how == "legal" else data.draw(strategy)
        if isinstance(payload, dict) and how != "drawn":
            payload = _as(payload, B if how == "names-b" else A)
        _call(rt, spec, payload, A)

    act()
