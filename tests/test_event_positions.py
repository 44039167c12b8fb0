"""A reader of a ledger never loses an event (issue 24, item 2): several writer processes with
transactions of random length, one tail and one reader paging by `since_event_id`; each gets
every event exactly once, in one order. On PostgreSQL sequence numbers commit out of order,
so this is where it counts; SQLite runs the same case. The tail also reconnects after its
connections are killed, and never blocks the event loop on a server that does not answer."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime
from ecm_runtime.eventlog import LedgerEvent

from storage import BACKENDS, PG_SERVER, backend_url, postgres_url
from test_audit_contract import event as audit_event

WRITERS = 4
EVENTS_PER_WRITER = 60
TENANT = "tenant-1"
WRITER = """
import json, random, sys, time
from ecm_runtime import Runtime
from ecm_runtime.call import Call
rt = Runtime.open(sys.argv[1], create=False)
log = rt.event_log("audit_events")
ctx = rt.context("SELENE_OS", sys.argv[2])
spec = rt.capabilities["PH1J_APPEND_AUDIT_EVENT"]
rng = random.Random(int(sys.argv[3]))
print("ready", flush=True)
sys.stdin.readline()
for n in range(int(sys.argv[4])):
    with rt.transaction(read_only=False) as connection:
        if rng.random() < 0.5:
            time.sleep(rng.random() * 0.02)  # before its sequence number is taken
        values = dict(now=1, engine="PH1.J", event_type="GATE_PASS",
                      reason_code="J_IDEMPOTENCY_REPLAY", severity="INFO", correlation_id=n,
                      turn_id=1, payload_min={"gate": "w" + sys.argv[3]},
                      idempotency_key="w%s-%d" % (sys.argv[3], n))
        call = Call.of(ctx, spec, spec.input_model.model_validate(values), lambda: 1)
        log.append(connection, rt.audit.envelope(call, values["reason_code"], own_row=True))
        time.sleep(rng.random() * 0.02)  # after: its commit comes late
print("done", flush=True)
"""


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from backend_url(request.param, tmp_path)


def gate(n: int) -> dict[str, Any]:
    """A GATE_PASS event of thread `n`, keyed by it."""
    return {
        **audit_event(correlation_id=n, payload_min={"gate": "g"}),
        "now": 1,
        "idempotency_key": f"k{n}",
    }


def start_writers(url: str) -> list[subprocess.Popen[str]]:
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, TENANT, str(n), str(EVENTS_PER_WRITER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    return writers


def position(event: LedgerEvent) -> tuple[int, int]:
    return (event.row.get("ecm_xact") or 0, event.sequence)


def test_a_tail_and_a_paging_reader_get_every_event_once_in_order(url: str) -> None:
    rt = Runtime.open(url)
    total = WRITERS * EVENTS_PER_WRITER
    paged: list[int] = []
    stop = threading.Event()

    def page() -> None:
        """A consumer of the tenant's audit read, paging by its own last event id."""
        ctx = rt.context("SELENE_OS", TENANT)
        since = 0
        while len(paged) < total and not stop.is_set():
            cursor = {"since_event_id": since} if since else {}
            rows = rt.invoke(
                ctx, "PH1J_READ_AUDIT_EVENTS_BY_TENANT", {"tenant_id": TENANT, "limit": 7, **cursor}
            )
            for row in rows:  # type: ignore[attr-defined]
                paged.append(row.event_id)
                since = row.event_id
            stop.wait(0.005)

    async def tail() -> list[LedgerEvent]:
        seen: list[LedgerEvent] = []
        async for event in rt.event_log("audit_events").tail(0, poll_seconds=0.05, limit=9):
            seen.append(event)
            if len(seen) == total:
                break
        return seen

    reader = threading.Thread(target=page)
    reader.start()
    writers = start_writers(url)
    try:
        seen = asyncio.run(asyncio.wait_for(tail(), timeout=120))
    finally:
        for writer in writers:
            writer.wait(60)
        reader.join(60)
        stop.set()
        rt.close()
    assert all(w.returncode == 0 for w in writers)
    sequences = [e.sequence for e in seen]
    assert len(set(sequences)) == len(sequences) == total  # each once, none lost
    assert [position(e) for e in seen] == sorted(position(e) for e in seen)  # one order
    assert sorted(paged) == sorted(sequences) and len(paged) == total


def test_the_tail_reconnects_after_its_connections_are_killed() -> None:
    app = f"ecm-tail-{uuid.uuid4().hex[:8]}"
    urls = postgres_url()
    base = next(urls)
    url = f"{base}&application_name={app}"
    rt = Runtime.open(url)
    writer = Runtime.open(base, create=False)  # a writer the outage does not touch
    admin = sa.create_engine(PG_SERVER)

    def append(n: int) -> None:
        writer.invoke(writer.context("SELENE_OS", TENANT), "PH1J_APPEND_AUDIT_EVENT", gate(n))

    def kill() -> None:
        with admin.begin() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE application_name = '{app}' AND pid <> pg_backend_pid()"
            )

    async def consume() -> list[int]:
        seen: list[int] = []
        tail = rt.event_log("audit_events").tail(0, poll_seconds=0.05, retry_seconds=0.05)
        async for event in tail:
            seen.append(event.sequence)
            if len(seen) == 1:
                await asyncio.to_thread(kill)  # a server restart, as the tail sees it
                await asyncio.to_thread(append, 2)
            if len(seen) == 2:
                break
        return seen

    try:
        append(1)
        assert asyncio.run(asyncio.wait_for(consume(), timeout=60)) == [1, 2]
    finally:
        rt.close()
        writer.close()
        admin.dispose()
        for _ in urls:
            pass


def test_a_silent_server_never_blocks_the_event_loop() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # accepts, and never says a word
    port = server.getsockname()[1]
    rt = Runtime.open(
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/test?connect_timeout=1", create=False
    )

    async def run() -> tuple[int, list[Any]]:
        ticks = 0
        got: list[Any] = []

        async def consume() -> None:
            async for event in rt.event_log("audit_events").tail(0, retry_seconds=0.1):
                got.append(event)

        task = asyncio.create_task(consume())
        for _ in range(20):  # the loop runs on while the tail waits for the server
            await asyncio.sleep(0.05)
            ticks += 1
        task.cancel()
        return ticks, got

    try:
        ticks, got = asyncio.run(asyncio.wait_for(run(), timeout=30))
        assert ticks == 20 and got == []
    finally:
        rt.close()
        server.close()


def test_a_cursor_names_its_row_in_its_own_scope(url: str) -> None:
    """A since_event_id of another tenant's row says nothing of that tenant, and pages this
    tenant's rows from where that id stands."""
    rt = Runtime.open(url)
    try:
        for tenant, n in (("a", 1), ("b", 2), ("a", 3)):
            ctx = rt.context("SELENE_OS", tenant)
            rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", gate(n))
        ctx = rt.context("SELENE_OS", "a")
        rows = rt.invoke(
            ctx, "PH1J_READ_AUDIT_EVENTS_BY_TENANT", {"tenant_id": "a", "since_event_id": 2}
        )
        assert [r.event_id for r in rows] == [3]  # type: ignore[attr-defined]
        assert json.dumps([r.tenant_id for r in rows]) == '["a"]'  # type: ignore[attr-defined]
    finally:
        rt.close()
