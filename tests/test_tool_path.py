"""The PH1.E tool path on both backends: cache, TTL, failure codes, replays, bounded audit."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_contract import Role
from ecm_runtime import Runtime, StorageError
from ecm_runtime.errors import ToolError, ToolFailure
from ecm_runtime.providers import TimeProvider, UrlFetchProvider
from ecm_runtime.tools import ToolPolicy
from pydantic import BaseModel

from storage import postgres_url, sqlite_url

TENANT = "tenant-1"
START = 1_700_000_000_000
TTL = 300_000  # cache_ttl_ms of PH1.E's tool path
BOUNDED = {"tool_name", "query_hash", "fail_code", "cache_status"}
TOOLS = {
    "PH1E_TOOL_TIME_QUERY": ("time", {"query": "time in Paris"}),
    "PH1E_TOOL_WEATHER_QUERY": ("weather", {"query": "rain in Oslo?"}),
    "PH1E_TOOL_WEB_SEARCH_QUERY": ("web_search", {"query": "ecm specs"}),
    "PH1E_TOOL_NEWS_QUERY": ("news", {"query": "headlines"}),
    "PH1E_TOOL_URL_FETCH_AND_CITE_QUERY": ("url_fetch_and_cite", {"url": "http://127.0.0.1/x"}),
    "PH1E_TOOL_DOCUMENT_UNDERSTAND_QUERY": (
        "document_understand",
        {"document_ref": "doc-1", "query": "total?"},
    ),
    "PH1E_TOOL_PHOTO_UNDERSTAND_QUERY": ("photo_understand", {"image_ref": "img-1", "query": "?"}),
    "PH1E_TOOL_DATA_ANALYSIS_QUERY": ("data_analysis", {"data_ref": "csv-1", "query": "mean"}),
    "PH1E_TOOL_DEEP_RESEARCH_QUERY": ("deep_research", {"query": "history of ledgers"}),
    "PH1E_TOOL_RECORD_MODE_QUERY": ("record_mode", {"recording_ref": "rec-1", "query": "todo"}),
}


class Canned:
    """A provider that answers any tool_response shape and counts its calls."""

    def __init__(self, tool: str, clock: Any, model: type[BaseModel]) -> None:
        self.tool, self.clock, self.calls = tool, clock, 0
        self.fields = set(model.model_fields)

    def __call__(self, request: BaseModel) -> dict[str, Any]:
        self.calls += 1
        answer = {
            "tool_name": self.tool,
            "answer_text": f"answer {self.calls}",
            "summary": "s",
            "action_items": ["a"],
            "evidence_refs": ["e"],
            "structured_fields": {"k": 1},
            "citations": ["c"],
            "provenance": {"source": f"canned:{self.tool}", "retrieved_at": self.clock()},
        }
        return {key: value for key, value in answer.items() if key in self.fields}


def query(capability: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "tenant_id": TENANT,
        "correlation_id": 77,
        "turn_id": 1,
        "user_id": "u",
        "device_id": "d",
        "idempotency_key": key,
        **TOOLS[capability][1],
        **extra,
    }


class ToolPathContract:
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield ""

    @pytest.fixture
    def clock(self) -> list[int]:
        return [START]

    @pytest.fixture
    def rt(self, url: str, clock: list[int]) -> Iterator[Runtime]:
        runtime = Runtime.open(url, clock=lambda: clock[0])
        for capability, (tool, _) in TOOLS.items():
            model = runtime.capabilities[capability].output_model
            assert model is not None
            runtime.tools.register(tool, Canned(tool, runtime.clock, model))
        runtime.tools.policy = ToolPolicy(allowed_domains=frozenset({"127.0.0.1"}))
        yield runtime
        runtime.close()

    def audit(self, rt: Runtime) -> list[dict[str, Any]]:
        table = rt.metadata.tables["audit_events"]
        with rt.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table).where(table.c.engine == "PH1.E").order_by(table.c.event_id)
            ).mappings()
            return [dict(row) for row in rows]

    def cache_rows(self, rt: Runtime) -> int:
        with rt.engine.connect() as connection:
            return int(connection.exec_driver_sql("SELECT count(*) FROM tool_cache").scalar_one())

    @pytest.mark.parametrize("capability", sorted(TOOLS))
    def test_miss_then_hit_two_rows_one_cache_row(self, rt: Runtime, capability: str) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        first = rt.invoke(ctx, capability, query(capability, "k1"))
        second = rt.invoke(ctx, capability, query(capability, "k2"))
        assert first == second  # the hit answers from the cache
        assert rt.tools.providers[TOOLS[capability][0]].calls == 1  # type: ignore[attr-defined]
        rows = self.audit(rt)
        assert [r["event_type"] for r in rows] == ["ToolOk", "ToolOk"]
        assert [r["payload_min"]["cache_status"] for r in rows] == ["MISS", "HIT"]
        assert all(set(r["payload_min"]) <= BOUNDED for r in rows)
        assert rows[0]["payload_min"]["query_hash"] == rows[1]["payload_min"]["query_hash"]
        assert self.cache_rows(rt) == 1
        assert first.provenance.retrieved_at == START  # type: ignore[attr-defined]

    def test_an_expired_row_is_fetched_again(self, rt: Runtime, clock: list[int]) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        capability = "PH1E_TOOL_WEATHER_QUERY"
        rt.invoke(ctx, capability, query(capability, "k1"))
        clock[0] = START + TTL
        refreshed = rt.invoke(ctx, capability, query(capability, "k2"))
        assert refreshed.answer_text == "answer 2"  # type: ignore[attr-defined]
        assert [r["payload_min"]["cache_status"] for r in self.audit(rt)] == ["MISS", "MISS"]
        assert self.cache_rows(rt) == 1

    def test_uncached_tools_bypass_the_cache(self, rt: Runtime) -> None:
        rt.tools.policy = ToolPolicy(uncached_tools=frozenset({"time"}))
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        capability = "PH1E_TOOL_TIME_QUERY"
        first = rt.invoke(ctx, capability, query(capability, "k1"))
        second = rt.invoke(ctx, capability, query(capability, "k2"))
        assert first != second  # answered afresh each time
        assert [r["payload_min"]["cache_status"] for r in self.audit(rt)] == ["BYPASS", "BYPASS"]
        assert self.cache_rows(rt) == 0

    def test_whitespace_does_not_change_the_query(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        capability = "PH1E_TOOL_NEWS_QUERY"
        rt.invoke(ctx, capability, query(capability, "k1", query=" headlines "))
        rt.invoke(ctx, capability, query(capability, "k2", query="headlines"))
        assert [r["payload_min"]["cache_status"] for r in self.audit(rt)] == ["MISS", "HIT"]

    def test_retries_replay_and_do_not_run_again(self, rt: Runtime) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        capability = "PH1E_TOOL_DEEP_RESEARCH_QUERY"
        first = rt.invoke(ctx, capability, query(capability, "k1"))
        again = rt.invoke(ctx, capability, query(capability, "k1"))
        assert again == first
        assert rt.tools.providers["deep_research"].calls == 1  # type: ignore[attr-defined]
        assert len(self.audit(rt)) == 1

    def fail(self, rt: Runtime, capability: str, code: str, key: str = "f", **extra: Any) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        with pytest.raises(ToolError) as refused:
            rt.invoke(ctx, capability, query(capability, key, **extra))
        assert refused.value.reason_code == code
        last = self.audit(rt)[-1]
        assert last["event_type"] == "ToolFail" and last["reason_code"] == code
        assert last["payload_min"]["fail_code"] == code
        assert set(last["payload_min"]) <= BOUNDED
        with pytest.raises(ToolError) as replayed:  # a retry replays the failure
            rt.invoke(ctx, capability, query(capability, key, **extra))
        assert replayed.value.reason_code == code

    def test_forbidden_tool(self, rt: Runtime) -> None:
        rt.tools.policy = ToolPolicy(allowed_tools=frozenset({"time"}))
        self.fail(rt, "PH1E_TOOL_NEWS_QUERY", "E_FAIL_FORBIDDEN_TOOL")
        del rt.tools.providers["weather"]
        self.fail(rt, "PH1E_TOOL_WEATHER_QUERY", "E_FAIL_FORBIDDEN_TOOL", key="g")

    def test_timeout(self, rt: Runtime) -> None:
        def slow(request: BaseModel) -> dict[str, Any]:
            time.sleep(2)
            return {}

        rt.tools.register("web_search", slow)
        rt.tools.policy = ToolPolicy(timeout_seconds=0.2)
        self.fail(rt, "PH1E_TOOL_WEB_SEARCH_QUERY", "E_FAIL_TIMEOUT")

    def test_budget_exceeded(self, rt: Runtime) -> None:
        rt.tools.policy = ToolPolicy(budget_per_correlation=1)
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        rt.invoke(ctx, "PH1E_TOOL_NEWS_QUERY", query("PH1E_TOOL_NEWS_QUERY", "k1"))
        self.fail(rt, "PH1E_TOOL_TIME_QUERY", "E_FAIL_BUDGET_EXCEEDED")

    def test_policy_block(self, rt: Runtime) -> None:
        rt.tools.policy = ToolPolicy(blocked_terms=frozenset({"Ledgers"}))
        self.fail(rt, "PH1E_TOOL_DEEP_RESEARCH_QUERY", "E_FAIL_POLICY_BLOCK")

    def test_forbidden_domain(self, rt: Runtime) -> None:
        self.fail(
            rt,
            "PH1E_TOOL_URL_FETCH_AND_CITE_QUERY",
            "E_FAIL_FORBIDDEN_DOMAIN",
            url="http://localhost/x",
        )

    def test_provider_errors_are_audited_failures(self, rt: Runtime) -> None:
        def broken(request: BaseModel) -> dict[str, Any]:
            raise ToolFailure(Role.POLICY_BLOCK, "the provider refused")

        rt.tools.register("news", broken)
        self.fail(rt, "PH1E_TOOL_NEWS_QUERY", "E_FAIL_POLICY_BLOCK")
        rt.tools.register("news", lambda request: {"tool_name": "news"})  # missing fields
        self.fail(rt, "PH1E_TOOL_NEWS_QUERY", "E_FAIL_PROVIDER_ERROR", key="g")

    def test_a_nul_in_the_query_is_refused_with_the_tools_code_on_every_backend(
        self, rt: Runtime
    ) -> None:
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        spec = rt.capabilities["PH1E_TOOL_TIME_QUERY"]
        with pytest.raises(StorageError) as refused:
            rt.invoke(ctx, spec.id, query(spec.id, "k1", query="time\x00in Paris"))
        assert refused.value.reason_code == rt.refusals.code(spec, Role.CONTRACT_VALIDATION)
        assert self.audit(rt) == [] and self.cache_rows(rt) == 0

    def test_time_provider_is_zone_aware(self, rt: Runtime) -> None:
        rt.tools.register("time", TimeProvider(rt.clock))
        ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
        answer = rt.invoke(
            ctx,
            "PH1E_TOOL_TIME_QUERY",
            query("PH1E_TOOL_TIME_QUERY", "k1", query="time in new york?"),
        )
        assert answer.answer_text.endswith("in America/New_York (UTC-05:00)")  # type: ignore[attr-defined]
        assert answer.answer_text.startswith("17:13 on Tuesday 14 November 2023")  # type: ignore[attr-defined]


class TestSQLite(ToolPathContract):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield sqlite_url(tmp_path)


class TestPostgreSQL(ToolPathContract):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield from postgres_url()


# --- the URL provider against a local server --------------------------------------------------


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/ok":
            self._send(200, b"<html><title>Ledger &amp; Log</title><p>Append only.</p></html>")
        elif self.path == "/hop":
            self._redirect(f"http://127.0.0.1:{port}/ok")
        elif self.path == "/away":
            self._redirect(f"http://localhost:{port}/ok")
        elif self.path == "/slow":
            time.sleep(2)
            with contextlib.suppress(ConnectionError):  # the client gave up: the point of it
                self._send(200, b"late")
        elif self.path == "/big":
            self._send(200, b"x" * 300_000)
        elif self.path == "/commented":
            page = b"<!-- <title>Old</title> --><title>New</title><script>var t='x'</script><p>Hi"
            self._send(200, page)
        elif self.path == "/latin1":
            page = "<title>Café</title><p>Crème brûlée</p>".encode("latin-1")
            self._send(200, page, "text/html; charset=ISO-8859-1")
        elif self.path == "/meta":
            page = '<meta charset="windows-1252"><title>Caf\xe9 “quoted”</title>'.encode("cp1252")
            self._send(200, page)
        else:
            self._send(404, b"no")

    def _send(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _Request(BaseModel):
    url: str


def fetch(server: str, path: str) -> dict[str, Any]:
    provider = UrlFetchProvider(
        frozenset({"127.0.0.1"}), lambda: START, max_bytes=100_000, timeout_seconds=0.5
    )
    return provider(_Request(url=server + path))


def test_url_provider_fetches_follows_allowed_hops_and_cites(server: str) -> None:
    answer = fetch(server, "/hop")
    assert answer["answer_text"] == "Ledger & Log: Ledger & Log Append only."
    assert answer["citations"] == [server + "/ok"]
    assert answer["provenance"] == {"source": server + "/ok", "retrieved_at": START}


@pytest.mark.parametrize(
    ("path", "title", "text"),
    [
        ("/commented", "New", "New Hi"),  # a commented-out title and scripts say nothing
        ("/latin1", "Café", "Café Crème brûlée"),  # decoded by the header's charset
        ("/meta", "Café “quoted”", "Café “quoted”"),  # by the page's own <meta charset>
    ],
)
def test_url_provider_reads_pages_as_browsers_do(
    server: str, path: str, title: str, text: str
) -> None:
    answer = fetch(server, path)
    assert answer["answer_text"] == f"{title}: {text}"


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/away", "forbidden_domain"),
        ("/slow", "timeout"),
        ("/big", "budget_exceeded"),
        ("/missing", "provider_error"),
    ],
)
def test_url_provider_limits(server: str, path: str, role: str) -> None:
    with pytest.raises(ToolFailure) as failed:
        fetch(server, path)
    assert failed.value.role == role


def test_url_tool_end_to_end(server: str, tmp_path: Path) -> None:
    rt = Runtime.open(sqlite_url(tmp_path), clock=lambda: START)
    rt.tools.policy = ToolPolicy(allowed_domains=frozenset({"127.0.0.1"}))
    rt.tools.register("url_fetch_and_cite", UrlFetchProvider(frozenset({"127.0.0.1"}), rt.clock))
    ctx = rt.context(caller="SELENE_OS", tenant_id=TENANT)
    capability = "PH1E_TOOL_URL_FETCH_AND_CITE_QUERY"
    answer = rt.invoke(ctx, capability, query(capability, "k1", url=server + "/ok"))
    assert answer.citations == (server + "/ok",)  # type: ignore[attr-defined]
    with pytest.raises(ToolError) as refused:
        rt.invoke(ctx, capability, query(capability, "k2", url=server + "/away"))
    assert refused.value.reason_code == "E_FAIL_FORBIDDEN_DOMAIN"
    rt.close()
