"""Runtime write cost against a hand-written insert of the same rows (DESIGN §9).

Run by hand: `python bench/bench_runtime.py [--url URL] [--n N]`. Each PH1.D commit through
the runtime validates its input, checks caller and tenant, and inserts one audit row with its
BLAKE3 digest under the idempotency key; the baseline inserts the same row with SQLAlchemy
Core, one transaction per row, on the same kind of database; on SQLite, the eventsourcing
library saves as many single-event aggregates to a file in the same run (the peer).
"""

from __future__ import annotations

import argparse
import tempfile
import time
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        rt = Runtime.open(url)
        ctx = rt.context(caller="SELENE_OS", tenant_id="t1")
        from selene_ecm.engines import ph1_d

        inputs = [ph1_d.ChatCommitRowInput.model_validate(payload(n)) for n in range(args.n)]
        start = time.perf_counter()
        for item in inputs:
            ph1_d.chat_commit_row(ctx, item)
        typed = time.perf_counter() - start

        start = time.perf_counter()
        for n in range(args.n, 2 * args.n):
            rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", payload(n))
        generic = time.perf_counter() - start

        audit = rt.metadata.tables["audit_events"]
        start = time.perf_counter()
        for n in range(2 * args.n, 3 * args.n):
            body = {"request_id": f"r{n}", "decision": "CHAT"}
            with rt.engine.begin() as connection:
                connection.execute(
                    sa.insert(audit).values(
                        created_at=n,
                        tenant_id="t1",
                        engine="PH1.D",
                        event_type="Other",
                        reason_code="D_FAIL_TIMEOUT",
                        severity="INFO",
                        correlation_id=7,
                        turn_id=n,
                        payload_min=body,
                        payload_digest=digest(body),
                        idempotency_key=f"k{n}",
                    )
                )
        baseline = time.perf_counter() - start
        rt.close()
        peer = None if args.url else eventsourcing_saves(Path(tmp) / "es.sqlite3", args.n)
    rows = [("typed wrapper", typed), ("invoke by id", generic), ("hand-written insert", baseline)]
    if peer is not None:
        rows.append(("eventsourcing save", peer))
    for label, seconds in rows:
        print(f"{label:>20}: {args.n / seconds:7.0f} writes/s ({seconds / args.n * 1e6:6.0f} us)")
    print(f"{'overhead':>20}: typed x{typed / baseline:.2f}, invoke x{generic / baseline:.2f}")
    if peer is not None:
        print(f"{'vs eventsourcing':>20}: typed {peer / typed:.2f}x, invoke {peer / generic:.2f}x")


def eventsourcing_saves(path: Path, n: int) -> float | None:
    """Seconds for n single-event saves by the eventsourcing library's SQLite recorder on a
    file (WAL, its defaults), one new aggregate per save; None when it is not installed."""
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
    start = time.perf_counter()
    for n_ in range(n):
        app.save(Decision(f"r{n_}", "CHAT"))
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
