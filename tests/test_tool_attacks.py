"""The tool path against a hostile caller and a careless provider (issue 24, items 7 and 15),
on both backends: one key runs one query however many calls race with it, a budget is counted
at the database, blocked terms hold however the text is spelled, an unreadable URL is an
audited refusal, and a provider that never answers does not keep the process alive."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime, StorageError
from ecm_runtime.errors import ToolError
from ecm_runtime.tools import ToolPolicy
from pydantic import BaseModel

from storage import BACKENDS, runtime_on
from test_tool_path import START, query

SEARCH = "PH1E_TOOL_WEB_SEARCH_QUERY"


@pytest.fixture(params=BACKENDS)
def rt(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    yield from runtime_on(request.param, tmp_path, clock=lambda: START)


class Slow:
    """A provider that waits to be released, counting its runs."""

    def __init__(self) -> None:
        self.runs = 0
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, request: BaseModel) -> dict[str, Any]:
        self.runs += 1
        self.started.set()
        self.release.wait(10)
        return {
            "tool_name": "web_search",
            "answer_text": f"answer {self.runs}",
            "provenance": {"source": "slow", "retrieved_at": START},
        }


def race(rt: Runtime, payloads: list[dict[str, Any]]) -> tuple[list[object], list[BaseException]]:
    answers: list[object] = []
    errors: list[BaseException] = []

    def call(payload: dict[str, Any]) -> None:
        try:
            answers.append(rt.invoke(rt.context("SELENE_OS", "tenant-1"), SEARCH, payload))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=call, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers, errors


def audit_rows(rt: Runtime) -> list[dict[str, Any]]:
    table = rt.metadata.tables["audit_events"]
    with rt.engine.connect() as connection:
        query_ = sa.select(table).where(table.c.engine == "PH1.E").order_by(table.c.event_id)
        return [dict(r) for r in connection.execute(query_).mappings()]


def test_one_key_runs_one_query_under_concurrency(rt: Runtime) -> None:
    slow = Slow()
    rt.tools.register("web_search", slow)
    payload = query(SEARCH, "same-key")
    threading.Timer(0.5, slow.release.set).start()
    answers, errors = race(rt, [payload] * 6)
    assert errors == []
    assert slow.runs == 1
    assert len(answers) == 6 and all(a == answers[0] for a in answers)
    assert len(audit_rows(rt)) == 1  # one ok row for the one query


def test_a_budget_holds_under_concurrency(rt: Runtime) -> None:
    slow = Slow()
    slow.release.set()
    rt.tools.register("web_search", slow)
    rt.tools.policy = ToolPolicy(budget_per_correlation=2, uncached_tools=frozenset({"web_search"}))
    payloads = [query(SEARCH, f"k{n}", query=f"q{n}") for n in range(8)]
    answers, errors = race(rt, payloads)
    assert len(answers) == 2
    assert len(errors) == 6
    assert all(
        isinstance(e, ToolError) and e.reason_code == "E_FAIL_BUDGET_EXCEEDED" for e in errors
    )
    # A retry of an answered key replays (spends nothing); a new key is refused.
    with pytest.raises(ToolError, match="budget"):
        rt.invoke(rt.context("SELENE_OS", "tenant-1"), SEARCH, query(SEARCH, "k9", query="q9"))


@pytest.mark.parametrize(
    "spelling",
    [
        "the secret plan",
        "the s\u200becret pl\u00adan",  # a zero-width space, a soft hyphen
        "the \u0455\u0435cret plan",  # Cyrillic dze and ie
        "THE \uff33\uff25\uff23\uff32\uff25\uff34 PLAN",  # full-width letters
        "the \U0001d42c\U0001d41e\U0001d41c\U0001d42b\U0001d41e\U0001d42d plan",  # bold letters
        "the secret\u2060 plan",  # a word joiner
    ],
)
def test_blocked_terms_hold_however_they_are_spelled(rt: Runtime, spelling: str) -> None:
    slow = Slow()
    slow.release.set()
    rt.tools.register("web_search", slow)
    rt.tools.policy = ToolPolicy(blocked_terms=frozenset({"Secret Plan"}))
    with pytest.raises(ToolError) as refused:
        rt.invoke(rt.context("SELENE_OS", "tenant-1"), SEARCH, query(SEARCH, "k", query=spelling))
    assert refused.value.reason_code == "E_FAIL_POLICY_BLOCK"
    assert slow.runs == 0
    assert [r["event_type"] for r in audit_rows(rt)] == ["ToolFail"]


@pytest.mark.parametrize(
    "url", ["http://[example.org]/", "http://[::1", "http://", "not a url", "http://127.0.0.1:x/"]
)
def test_an_unreadable_url_is_an_audited_refusal(rt: Runtime, url: str) -> None:
    capability = "PH1E_TOOL_URL_FETCH_AND_CITE_QUERY"
    rt.tools.register("url_fetch_and_cite", Slow())
    rt.tools.policy = ToolPolicy(allowed_domains=frozenset({"example.org"}))
    with pytest.raises(ToolError) as refused:
        rt.invoke(rt.context("SELENE_OS", "tenant-1"), capability, query(capability, "k", url=url))
    assert refused.value.reason_code == "E_FAIL_FORBIDDEN_DOMAIN"
    assert [r["event_type"] for r in audit_rows(rt)] == ["ToolFail"]


def test_a_provider_that_never_answers_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    script = f"""
import threading, time
from ecm_runtime import Runtime
from ecm_runtime.errors import ToolError
from ecm_runtime.tools import ToolPolicy
rt = Runtime.open("sqlite:///{tmp_path / "hang.sqlite3"}")
rt.tools.register("web_search", lambda request: threading.Event().wait())
rt.tools.policy = ToolPolicy(timeout_seconds=0.2)
payload = dict(tenant_id="t", correlation_id=1, turn_id=1, user_id="u", device_id="d",
               query="q", idempotency_key="k")
try:
    rt.invoke(rt.context("SELENE_OS", "t"), "PH1E_TOOL_WEB_SEARCH_QUERY", payload)
except ToolError as error:
    print(error.reason_code)
"""
    # Without the fix the interpreter waits on the provider's thread at exit: the timeout.
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "E_FAIL_TIMEOUT"


def test_a_query_naming_another_tenant_reaches_no_provider(rt: Runtime) -> None:
    slow = Slow()
    slow.release.set()
    rt.tools.register("web_search", slow)
    with pytest.raises(StorageError) as refused:
        rt.invoke(
            rt.context("SELENE_OS", "tenant-1"), SEARCH, query(SEARCH, "k", tenant_id="other")
        )
    assert refused.value.reason_code == "J_TENANT_SCOPE_VIOLATION"
    assert slow.runs == 0 and audit_rows(rt) == []
