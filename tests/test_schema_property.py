"""Every input a capability's own JSON Schema admits gets a result or a declared-code refusal.

Inputs are drawn from each capability's catalog input schema (`rt.catalog`), not from
examples written here, and every capability of every engine is invoked with a caller its
policy admits, in the tenant its input names. A refusal writes nothing (a tool query's refusal
writes exactly its one audited failure row). Lifecycle actions are drawn as stories that start
at the subject's creation, so each of them can succeed; every write capability must succeed at
least once.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter, deque
from collections.abc import Iterator
from typing import Any

import pytest
from ecm_runtime import Runtime, StorageError
from ecm_runtime.catalog import CapabilitySpec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema_strategy import from_schema
from storage import BACKENDS, backend_runtime, table_counts

DEFAULT_TENANT = "tenant-1"
# Raised by hand for a deeper run: ECM_PROPERTY_EXAMPLES=500 pytest tests/test_schema_property.py
KEYS = itertools.count()
EXAMPLES_PER_CAPABILITY = int(os.environ.get("ECM_PROPERTY_EXAMPLES", "25"))


@pytest.fixture(scope="module", params=BACKENDS)
def rt(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    yield from backend_runtime(request.param, tmp_path_factory)


def tenant_of(rt: Runtime, spec: CapabilitySpec, payload: dict[str, Any]) -> str:
    """The tenant the input names (its table's tenant column, or `tenant_id`), if a string."""
    table = rt.metadata.tables.get(spec.table or "")
    column = table.info.get("tenant_column") if table is not None else None
    for name in (column, "tenant_id"):
        value = payload.get(name or "")
        if isinstance(value, str):
            return value
    return DEFAULT_TENANT


def story(rt: Runtime, spec: CapabilitySpec) -> list[CapabilitySpec]:
    """The lifecycle actions that lead from nothing to a state `spec`'s action is allowed in,
    then `spec` itself: the shortest path through the lifecycle's transition table."""
    lifecycle = spec.lifecycle
    if lifecycle is None:
        return [spec]
    target = next(t for t in lifecycle.transitions if t.capability_id == spec.id)
    steps = {t.action: t for t in lifecycle.transitions if t.capability_id}
    paths: deque[tuple[str | None, list[str]]] = deque([(None, [])])
    seen: set[str | None] = set()
    while paths:
        state, path = paths.popleft()
        if (state is None and not target.from_states) or state in target.from_states:
            return [rt.capabilities[steps[a].capability_id or ""] for a in path] + [spec]
        seen.add(state)
        for step in steps.values():
            allowed = state in step.from_states if state is not None else not step.from_states
            if allowed and step.to_state not in seen:
                paths.append((step.to_state, [*path, step.action]))
    raise AssertionError(f"{spec.id}: its action is unreachable")


def subject_key(rt: Runtime, spec: CapabilitySpec) -> tuple[str, ...]:
    lifecycle = spec.lifecycle
    if lifecycle is None or lifecycle.current is None:
        return ()
    return tuple(c.name for c in rt.metadata.tables[lifecycle.current].primary_key.columns)


def steer_audit_event(rt: Runtime, data: st.DataObject, payload: dict[str, Any]) -> None:
    """Name a declared event type and only its keys: a free-text event type is admitted by the
    schema but never declared, and such inputs alone would never succeed."""
    if not {"engine", "event_type"} <= set(payload):
        return
    declared = data.draw(
        st.sampled_from(sorted(rt.event_types, key=lambda t: (t.engine_id, t.name)))
    )
    payload.update(engine=declared.engine_id, event_type=declared.name)
    if declared.severity is not None:
        payload["severity"] = declared.severity
    if isinstance(payload.get("payload_min"), dict):
        keys = data.draw(st.lists(st.sampled_from(declared.payload_keys or ("_",)), unique=True))
        payload["payload_min"] = {
            k: data.draw(st.text(min_size=1, max_size=20))
            for k in keys
            if k in declared.payload_keys
        }


def steer_written_row(
    rt: Runtime, spec: CapabilitySpec, data: st.DataObject, payload: dict[str, Any]
) -> None:
    """Write a reason code the engine declares and, to a ledger a lifecycle governs, the
    transition that creates a subject: drawn text is neither, and the runtime refuses both
    (such inputs alone would never succeed)."""
    if "reason_code" in payload:
        # An audit event's code is its engine's; any other row's, its capability's engine's.
        engine = payload.get("engine") if spec.operation == "audit_append" else None
        declared = rt.refusals.declared.get(str(engine), frozenset(spec.reason_codes))
        payload["reason_code"] = data.draw(st.sampled_from(sorted(declared)))
    governing = rt.lifecycles.governing.get(spec.table or "")
    if governing is not None and spec.operation == "append":
        first = next(t for t in governing.transitions if not t.from_states)
        payload[governing.action_column] = first.action
        payload[governing.state_column] = first.to_state


def invoke_checked(
    rt: Runtime, spec: CapabilitySpec, payload: dict[str, Any], declared: set[str]
) -> bool:
    """Invoke; True on a result. A refusal must carry a declared code and write nothing."""
    ctx = rt.context(caller=spec.callers[0], tenant_id=tenant_of(rt, spec, payload))
    before = table_counts(rt)
    try:
        rt.invoke(ctx, spec.id, payload)
    except StorageError as refusal:
        assert refusal.reason_code in declared, (spec.id, refusal)
        written = table_counts(rt) - before
        if spec.operation == "tool_query":  # at most its own audited failure row
            assert written <= Counter({"audit_events": 1}), (spec.id, written, refusal)
        else:
            assert not written, (spec.id, written, refusal)
        return False
    return True


def exercise(rt: Runtime, spec: CapabilitySpec) -> int:
    """Draw inputs for `spec` (with the lifecycle story that leads to it); its successes."""
    steps = story(rt, spec)
    strategies = [from_schema(step.input_schema) for step in steps]
    declared = {code for step in steps for code in step.reason_codes}
    key = subject_key(rt, spec)
    succeeded = 0

    @settings(
        max_examples=EXAMPLES_PER_CAPABILITY,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        nonlocal succeeded
        payloads = [data.draw(s, label=step.id) for s, step in zip(strategies, steps, strict=True)]
        # Half the stories are steered toward success as a whole (one draw, so no pattern of
        # separate draws can starve a capability): a subject and idempotency keys no earlier
        # story used (a drawn key often names another call), declared codes and event types.
        steered = data.draw(st.booleans(), label="steered")
        fresh = f"k{next(KEYS)}"
        if steered:
            payloads[0].update({k: fresh for k in key if k != "tenant_id" and k in payloads[0]})
        for payload in payloads[1:]:  # one subject through the whole story
            payload.update({k: payloads[0][k] for k in key if k in payloads[0]})
        for step, payload in zip(steps, payloads, strict=True):
            if steered and "idempotency_key" in payload:
                payload["idempotency_key"] = f"{fresh}-{step.id}"
            if steered and step.operation == "audit_append":
                steer_audit_event(rt, data, payload)
            if steered:
                steer_written_row(rt, step, data, payload)
            if invoke_checked(rt, step, payload, declared) and step is spec:
                succeeded += 1

    run()
    return succeeded


def test_every_schema_valid_input_gets_a_result_or_a_declared_refusal(rt: Runtime) -> None:
    succeeded = {spec.id: exercise(rt, spec) for spec in sorted(rt.catalog, key=lambda s: s.id)}
    writes = {s.id for s in rt.catalog if s.writes}
    assert sorted(w for w in writes if not succeeded[w]) == []
