"""Runtime write cost against a hand-written insert of the same rows (DESIGN §9).

Run by hand: `python bench/bench_runtime.py [--url URL] [--n N] [--rounds R]`. Each PH1.D
commit through the runtime validates its input, checks caller and tenant, and inserts one
audit row with its BLAKE3 digest under the idempotency key; the baseline inserts the same kind
of row with SQLAlchemy Core, one transaction per row, on the same database; on SQLite, the
eventsourcing library saves as many single-event aggregates to a file in the same run (the
peer). The writers take turns in rounds, so drifts of the disk's latency hit them alike.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from ecm_runtime import Runtime
from ecm_runtime.audit import digest


def payload(n: int) -> dict[str, object]:
    return {
        "now": 1_700_000_000_000 + n,
        "tenant_id": "t1",
        "correlation_id": 7,
        "turn_id": n,
        "user_id": "u",
        "device_id": "d",
        "request_id": f"r{n}",
        "prompt_template_version": "v1",
        "output_schema_hash": "h",
        "tool_catalog_hash": "h",
        "policy_context_hash": "h",
        "transcript_hash": "h",
        "model_id": "m",
        "model_route_class": "c",
        "temperature_bp": 1,
        "max_tokens": 1,
        "reason_code": "D_FAIL_TIMEOUT",
        "idempotency_key": f"k{n}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        rt = Runtime.open(url)
        writers = {
            "typed wrapper": typed_writes(rt),
            "invoke by id": invoked_writes(rt),
            "Core insert": core_inserts(rt),
        }
        if not args.url:
            peer = eventsourcing_saves(Path(tmp) / "es.sqlite3")
            if peer is not None:
                writers["eventsourcing save"] = peer
        # Round robin: the disk's fsync latency drifts, so every writer shares each stretch.
        seconds = dict.fromkeys(writers, 0.0)
        per_round = args.n // args.rounds
        for round_ in range(args.rounds):
            numbers = range(round_ * per_round, (round_ + 1) * per_round)
            for label, write in writers.items():
                seconds[label] += write(numbers)
        rt.close()
    n = per_round * args.rounds
    for label, spent in seconds.items():
        print(f"{label:>20}: {n / spent:7.0f} writes/s ({spent / n * 1e6:6.0f} us)")
    typed, invoked, core = (seconds[k] for k in ("typed wrapper", "invoke by id", "Core insert"))
    print(f"{'vs Core insert':>20}: typed {core / typed:.2f}x, invoke {core / invoked:.2f}x")
    if "eventsourcing save" in seconds:
        peer = seconds["eventsourcing save"]
        print(f"{'vs eventsourcing':>20}: typed {peer / typed:.2f}x, invoke {peer / invoked:.2f}x")


Writer = Callable[[range], float]
"""Writes one row per number, one transaction each; the seconds it took."""


def typed_writes(rt: Runtime) -> Writer:
    from selene_ecm.engines import ph1_d

    ctx = rt.context(caller="SELENE_OS", tenant_id="t1")

    def write(numbers: range) -> float:
        inputs = [ph1_d.ChatCommitRowInput.model_validate(payload(n)) for n in numbers]
        start = time.perf_counter()
        for item in inputs:
            ph1_d.chat_commit_row(ctx, item)
        return time.perf_counter() - start

    return write


def invoked_writes(rt: Runtime) -> Writer:
    ctx = rt.context(caller="SELENE_OS", tenant_id="t1")

    def write(numbers: range) -> float:
        payloads = [payload(n) | {"idempotency_key": f"i{n}"} for n in numbers]
        start = time.perf_counter()
        for item in payloads:
            rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", item)
        return time.perf_counter() - start

    return write


def core_inserts(rt: Runtime) -> Writer:
    """The write floor: the same kind of audit row, digest included, inserted by a statement
    built once, one transaction per row."""
    audit = rt.metadata.tables["audit_events"]
    insert = sa.insert(audit)

    def write(numbers: range) -> float:
        start = time.perf_counter()
        for n in numbers:
            body = {"request_id": f"r{n}", "decision": "CHAT"}
            with rt.engine.begin() as connection:
                connection.execute(
                    insert,
                    {
                        "created_at": n,
                        "tenant_id": "t1",
                        "engine": "PH1.D",
                        "event_type": "Other",
                        "reason_code": "D_FAIL_TIMEOUT",
                        "severity": "INFO",
                        "correlation_id": 7,
                        "turn_id": n,
                        "payload_min": body,
                        "payload_digest": digest(body),
                        "idempotency_key": f"c{n}",
                    },
                )
        return time.perf_counter() - start

    return write


def eventsourcing_saves(path: Path) -> Writer | None:
    """Single-event saves by the eventsourcing library's SQLite recorder on a file (WAL, its
    defaults), one new aggregate per save; None when it is not installed."""
    import os

    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate
    except ImportError:
        print("eventsourcing is not installed (pip install -e '.[bench]'); no peer figure")
        return None

    class Decision(Aggregate):
        def __init__(self, request_id: str, decision: str) -> None:
            self.request_id, self.decision = request_id, decision

    os.environ.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(path))
    app: Application[Any] = Application()

    def write(numbers: range) -> float:
        start = time.perf_counter()
        for n in numbers:
            app.save(Decision(f"r{n}", "CHAT"))
        return time.perf_counter() - start

    return write


if __name__ == "__main__":
    main()
