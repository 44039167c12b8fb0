"""Bad input at run time: only StorageErrors with the specs' codes, and nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ecm_runtime import Runtime, StorageError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import BACKENDS, backend_runtime, example, table_counts

TENANT = "tenant-1"
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**130), max_value=2**130),
    st.text(max_size=40),
    st.text(alphabet="\x00\n\t\u202e\U0001f600", max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers()),
)


@pytest.fixture(scope="module", params=BACKENDS)
def rt(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    yield from backend_runtime(request.param, tmp_path_factory)


@st.composite
def calls(draw: st.DrawFn, rt: Runtime) -> tuple[str, str, dict[str, Any]]:
    specs = sorted(
        (s for s in rt.catalog if s.operation not in (None, "tool_query", "rebuild")),
        key=lambda s: s.id,
    )
    spec = draw(st.sampled_from(specs))
    payload = example(spec.input_schema)
    payload.update({k: TENANT for k in ("tenant_id", "scope_id") if k in payload})
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        keys = [*sorted(payload), "unexpected_field"]
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()) and key in payload:
            del payload[key]
        else:
            payload[key] = draw(VALUES)
    return spec.id, draw(st.sampled_from(spec.callers)), payload


def test_bad_payloads_get_spec_codes_and_write_nothing(rt: Runtime) -> None:
    declared = {code for spec in rt.catalog for code in spec.reason_codes}

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(calls(rt))
    def run(call: tuple[str, str, dict[str, Any]]) -> None:
        capability, caller, payload = call
        before = table_counts(rt)
        try:
            rt.invoke(rt.context(caller=caller, tenant_id=TENANT), capability, payload)
        except StorageError as refused:
            assert refused.reason_code in declared, refused
            assert table_counts(rt) == before  # a refusal writes nothing, audit included

    run()
