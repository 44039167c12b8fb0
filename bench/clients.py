"""PostgreSQL writes at 1 and more client processes (issue 28): the runtime, the raw floor and
eventsourcing's PostgreSQL recorder, in the same run, each client a process of its own (the
GIL is no limit across processes). `bench_runtime.py --url URL --clients 1 8` runs it.

- raw floor: psycopg, autocommit, one prepared `INSERT ... RETURNING` of an audit-shaped row
  per write: one round trip, the floor of a durable single-row write from Python;
- runtime: `rt.invoke(PH1D_CHAT_COMMIT_ROW)`, one transaction each, its audit row chained;
  once with every client writing for one tenant (one chain: its writers take turns) and once
  with a tenant per client (a chain each);
- eventsourcing: `Application.save` of a new single-event aggregate holding the same decision
  record, its PostgreSQL recorder (pip install -e ".[bench]").
"""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

import sqlalchemy as sa
from bench_runtime import decision, payload

FLOOR = """CREATE TABLE IF NOT EXISTS bench_floor (
    id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL, tenant_id VARCHAR(64),
    engine VARCHAR(64) NOT NULL, event_type VARCHAR(64) NOT NULL,
    reason_code VARCHAR(96) NOT NULL, severity VARCHAR(8) NOT NULL,
    correlation_id NUMERIC(39) NOT NULL, turn_id NUMERIC(20) NOT NULL,
    payload_min JSONB NOT NULL, payload_digest VARCHAR(128) NOT NULL,
    idempotency_key VARCHAR(256))"""
INSERT = (
    "INSERT INTO bench_floor (created_at, tenant_id, engine, event_type, reason_code, severity,"
    " correlation_id, turn_id, payload_min, payload_digest, idempotency_key)"
    " VALUES (%s, %s, 'PH1.D', 'Other', %s, 'INFO', %s, %s, %s, %s, %s) RETURNING id"
)


def libpq(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


def _floor(url: str, index: int, n: int, go: Any) -> float:
    import json

    import psycopg
    from ecm_runtime.canonical import digest

    with psycopg.connect(libpq(url), autocommit=True) as connection:
        rows = []
        for k in range(n):
            fields, body = payload(k), decision(k)
            rows.append((fields["now"], "t1", fields["reason_code"], fields["correlation_id"],
                         k, json.dumps(body), digest(body), f"floor-{index}-{k}"))  # fmt: skip
        go.wait()
        start = time.perf_counter()
        for row in rows:
            connection.execute(INSERT, row, prepare=True).fetchone()
        return time.perf_counter() - start


def _runtime(url: str, index: int, n: int, go: Any, tenant: str) -> float:
    from ecm_runtime import Runtime

    rt = Runtime.open(url, create=False)
    tenant = tenant.format(index=index)
    ctx = rt.context(caller="SELENE_OS", tenant_id=tenant)
    stamp = time.time_ns()
    calls = [
        {**payload(k), "tenant_id": tenant, "idempotency_key": f"rt-{stamp}-{index}-{k}"}
        for k in range(n)
    ]
    rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", {**calls[0], "idempotency_key": f"warm-{stamp}"})
    go.wait()
    start = time.perf_counter()
    for call in calls:
        rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", call)
    took = time.perf_counter() - start
    rt.close()
    return took


def _eventsourcing(url: str, index: int, n: int, go: Any) -> float:
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate

    class Decision(Aggregate):
        def __init__(self, record: dict[str, object]) -> None:
            self.record = record

    parts = sa.engine.make_url(url)
    schema = next(
        (o.split("=", 1)[1] for o in str(parts.query.get("options", "")).split() if "=" in o),
        "public",
    )
    os.environ.update(
        PERSISTENCE_MODULE="eventsourcing.postgres",
        POSTGRES_DBNAME=parts.database or "",
        POSTGRES_HOST=parts.host or "127.0.0.1",
        POSTGRES_PORT=str(parts.port or 5432),
        POSTGRES_USER=parts.username or "postgres",
        POSTGRES_PASSWORD=parts.password or "",
        POSTGRES_SCHEMA=schema.removeprefix("search_path="),
        CREATE_TABLE="y" if index < 0 else "n",  # made once, not by every client at once
    )
    app: Application[Any] = Application()
    records = [decision(k) for k in range(n)]
    app.save(Decision(records[0]))
    go.wait()
    start = time.perf_counter()
    for record in records:
        app.save(Decision(record))
    return time.perf_counter() - start


WRITERS = {
    "raw floor": (_floor, ()),
    "runtime, one tenant": (_runtime, ("t1",)),
    "runtime, tenant each": (_runtime, ("t{index}",)),
    "eventsourcing": (_eventsourcing, ()),
}


def _client(name: str, url: str, index: int, n: int, go: Any, ready: Any, out: Any) -> None:
    write, extra = WRITERS[name]
    try:
        ready.put(index)
        out.put(write(url, index, n, go, *extra))
    except Exception as error:  # reported by the parent, which skips the writer
        out.put(repr(error))


def rate(name: str, url: str, clients: int, n: int) -> float | str:
    """Writes/s across `clients` processes that start together."""
    context = multiprocessing.get_context("spawn")
    go, ready, out = context.Event(), context.Queue(), context.Queue()
    processes = [
        context.Process(target=_client, args=(name, url, i, n, go, ready, out))
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)
    time.sleep(0.5)  # every client past its setup, waiting at `go`
    go.set()
    results = [out.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    failed = [r for r in results if isinstance(r, str)]
    if failed:
        return failed[0]
    return clients * n / max(results)


def run(url: str, clients: list[int], n: int) -> None:
    from ecm_runtime import Runtime

    Runtime.open(url).close()  # the schema
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(FLOOR)
    engine.dispose()
    made = multiprocessing.get_context("spawn").Event()
    made.set()
    _eventsourcing(url, -1, 1, made)  # its tables and functions, here, before any client
    for count in clients:
        print(f"PostgreSQL, {count} client process(es), {n} writes each:")
        found: dict[str, float | str] = {name: rate(name, url, count, n) for name in WRITERS}
        floor = found["raw floor"]
        for name, value in found.items():
            if isinstance(value, str):
                print(f"  {name:<22} skipped: {value}")
            elif isinstance(floor, float):
                print(f"  {name:<22} {value:8.0f} writes/s  {value / floor:5.2f}x the floor")
