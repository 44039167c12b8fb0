"""Tenants' keys and cached answers are their own (issue 24, items 1 and 4), on both backends:
a provider sees exactly what its answer's cache key covers, cached rows belong to a tenant,
idempotency keys are scoped to their tenant, and a key reused for another call is refused
with the engine's idempotency code, never replayed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime
from ecm_runtime.errors import IdempotencyConflict
from pydantic import BaseModel

from storage import BACKENDS, runtime_on, table_counts
from test_audit_contract import NOW, decision, event

A, B = "tenant-a", "tenant-b"


@pytest.fixture(params=BACKENDS)
def rt(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    yield from runtime_on(request.param, tmp_path, clock=lambda: NOW)


def search(tenant: str, key: str, **changes: Any) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "correlation_id": 1,
        "turn_id": 1,
        "user_id": "u-1",
        "device_id": "d-1",
        "query": "quarterly numbers",
        "idempotency_key": key,
        **changes,
    }


class Echo:
    """A provider that answers with everything it can see of who asks."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(self, request: BaseModel) -> dict[str, Any]:
        visible = request.model_dump()
        self.seen.append(visible)
        return {
            "tool_name": "web_search",
            "answer_text": f"private docs of {visible}",
            "provenance": {"source": "echo", "retrieved_at": NOW},
        }


def test_one_tenants_cached_answer_is_never_anothers(rt: Runtime) -> None:
    echo = Echo()
    rt.tools.register("web_search", echo)
    answer_a = rt.invoke(rt.context("SELENE_OS", A), "PH1E_TOOL_WEB_SEARCH_QUERY", search(A, "1"))
    answer_b = rt.invoke(rt.context("SELENE_OS", B), "PH1E_TOOL_WEB_SEARCH_QUERY", search(B, "1"))
    assert A in answer_a.answer_text and B not in answer_a.answer_text  # type: ignore[attr-defined]
    assert B in answer_b.answer_text and A not in answer_b.answer_text  # type: ignore[attr-defined]
    assert len(echo.seen) == 2  # B's query missed the cache: A's row is not B's


@pytest.mark.parametrize(
    "field, other",
    [("user_id", "u-2"), ("device_id", "d-2"), ("correlation_id", 2), ("turn_id", 9)],
)
def test_a_provider_sees_exactly_what_the_cache_key_covers(
    rt: Runtime, field: str, other: object
) -> None:
    """Who asks, in which thread, is not the query: the provider never sees it, so an answer
    cached for one user is the answer another user of the tenant would get."""
    echo = Echo()
    rt.tools.register("web_search", echo)
    ctx = rt.context("SELENE_OS", A)
    first = rt.invoke(ctx, "PH1E_TOOL_WEB_SEARCH_QUERY", search(A, "1"))
    second = rt.invoke(ctx, "PH1E_TOOL_WEB_SEARCH_QUERY", search(A, "2", **{field: other}))
    assert first == second
    assert len(echo.seen) == 1  # a cache hit
    assert set(echo.seen[0]) == {"tenant_id", "locale", "query"}


def test_no_tenant_reads_or_writes_anothers_cache_rows(rt: Runtime) -> None:
    echo = Echo()
    rt.tools.register("web_search", echo)
    ctx_a, ctx_b = rt.context("SELENE_OS", A), rt.context("SELENE_OS", B)
    answer = rt.invoke(ctx_a, "PH1E_TOOL_WEB_SEARCH_QUERY", search(A, "1"))
    cache = rt.metadata.tables["tool_cache"]
    with rt.engine.connect() as connection:
        [row] = connection.execute(sa.select(cache)).mappings().all()
    key = {c: row[c] for c in ("tool_name", "query_hash", "locale")}
    # B knows the key A's query computes and tries to read and to poison it.
    assert rt.invoke(ctx_b, "ART_READ_TOOL_CACHE_ROW", key) is None
    poison = {
        **key,
        "now": NOW,
        "result_payload": {"tool_name": "web_search", "answer_text": "poisoned"},
        "expires_at": NOW + 10**9,
    }
    rt.invoke(ctx_b, "ART_UPSERT_TOOL_CACHE_ROW", poison)
    again = rt.invoke(ctx_a, "PH1E_TOOL_WEB_SEARCH_QUERY", search(A, "2"))
    assert again == answer and len(echo.seen) == 1  # A's own cached answer, untouched
    with rt.engine.connect() as connection:
        owners = sorted(connection.execute(sa.select(cache.c.tenant_id)).scalars())
    assert owners == [A, B]


def test_an_idempotency_key_is_its_tenants_own(rt: Runtime) -> None:
    """A's use of `publish-v1` neither refuses B's append nor tells B of it (both in the
    default correlation thread 0)."""
    rows = {}
    for tenant in (A, B):
        ctx = rt.context("SELENE_OS", tenant)
        written = rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", event(idempotency_key="publish-v1"))
        assert written.replayed is False  # type: ignore[attr-defined]
        rows[tenant] = written.id  # type: ignore[attr-defined]
    assert rows[A] != rows[B]
    again = rt.invoke(
        rt.context("SELENE_OS", B), "PH1J_APPEND_AUDIT_EVENT", event(idempotency_key="publish-v1")
    )
    assert again.replayed and again.id == rows[B]  # type: ignore[attr-defined]


def test_the_system_scope_keys_are_unique_too(rt: Runtime) -> None:
    system = rt.context("SELENE_OS")
    first = rt.invoke(system, "PH1J_APPEND_AUDIT_EVENT", event(idempotency_key="sys"))
    again = rt.invoke(system, "PH1J_APPEND_AUDIT_EVENT", event(idempotency_key="sys"))
    assert again.replayed and again.id == first.id  # type: ignore[attr-defined]
    assert table_counts(rt)["audit_events"] == 1


@pytest.mark.parametrize(
    "first, second",
    [
        (  # the same key, another input
            ("PH1J_APPEND_AUDIT_EVENT", event(idempotency_key="k")),
            ("PH1J_APPEND_AUDIT_EVENT", event(idempotency_key="k", payload_min={"gate": "x"})),
        ),
        (  # the same key, another capability writing the same log
            ("PH1D_CHAT_COMMIT_ROW", decision(idempotency_key="k")),
            (
                "PH1D_FAIL_CLOSED_COMMIT_ROW",
                decision(idempotency_key="k", fail_code="D_FAIL_TIMEOUT"),
            ),
        ),
        (  # the same key, another input, a ledger keyed by its own idempotency key
            ("ART_APPEND_ARTIFACT_LEDGER_ROW", "artifact"),
            ("ART_APPEND_ARTIFACT_LEDGER_ROW", "artifact:other-hash"),
        ),
    ],
    ids=["audit-input", "audit-capability", "ledger-input"],
)
def test_a_key_reused_for_another_call_is_refused_not_replayed(
    rt: Runtime, first: tuple[str, Any], second: tuple[str, Any]
) -> None:
    ctx = rt.context("SELENE_OS", A, correlation_id=78)
    rt.invoke(ctx, first[0], _payload(first[1]))
    before = table_counts(rt)
    with pytest.raises(IdempotencyConflict, match="names another call") as refused:
        rt.invoke(ctx, second[0], _payload(second[1]))
    assert refused.value.reason_code.endswith("IDEMPOTENCY_REPLAY")
    assert table_counts(rt) == before


def _payload(given: Any) -> dict[str, Any]:
    if isinstance(given, dict):
        return given
    _, _, package_hash = given.partition(":")
    return {
        "now": NOW,
        "scope_type": "TENANT",
        "scope_id": A,
        "artifact_type": "VOICE_PROFILE",
        "artifact_version": 1,
        "package_hash": package_hash or "hash-1",
        "payload_ref": "ref",
        "created_by": "me",
        "provenance_ref": "p",
        "status": "ACTIVE",
        "idempotency_key": "k",
    }
