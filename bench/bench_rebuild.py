"""Projection rebuild: events/s and peak memory of `PH1CAPREQ_REBUILD_CURRENT_ROWS` over a CAPREQ
ledger on a SQLite file, at several ledger lengths, each in a process of its own (so its peak
RSS is its own); with `--peer`, the eventsourcing library's replay of as many events in the same
run, for the ratio.

Run by hand: `python bench/bench_rebuild.py [--n 10000 100000 1000000] [--peer]`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EVENTS_PER_REQUEST = 5
ACTIONS = ("CREATE_DRAFT", "SUBMIT_FOR_APPROVAL", "APPROVE", "FULFILL", "CANCEL")
STATUSES = ("DRAFT", "PENDING_APPROVAL", "APPROVED", "FULFILLED", "CANCELED")


def fill_ledger(url: str, n: int) -> None:
    """n ledger events, five per request, written straight to the table (the bench measures
    the rebuild, not the writes)."""
    from ecm_runtime import Runtime

    rt = Runtime.open(url)
    ledger = rt.metadata.tables["capreq_ledger"]
    batch = 20_000
    with rt.engine.begin() as connection:
        for start in range(0, n, batch):
            rows = [
                {
                    "tenant_id": "t1",
                    "capreq_id": f"cr{i // EVENTS_PER_REQUEST}",
                    "requester_user_id": "u1",
                    "action": ACTIONS[i % EVENTS_PER_REQUEST],
                    "status": STATUSES[i % EVENTS_PER_REQUEST],
                    "reason_code": "CAPREQ_OK",
                    "payload_hash": f"{i:064x}",
                    "created_at": 1_700_000_000_000 + i,
                    "idempotency_key": f"k{i}",
                }
                for i in range(start, min(start + batch, n))
            ]
            connection.execute(ledger.insert(), rows)
    rt.close()


def rebuild_once(n: int) -> dict[str, float]:
    from ecm_runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'rebuild.sqlite3'}"
        # Filled by another process, so this one's peak memory is the rebuild's alone.
        subprocess.run(
            [sys.executable, __file__, "--child", "fill", "--n", str(n), "--url", url], check=True
        )
        rt = Runtime.open(url)
        ctx = rt.context(caller="SELENE_OS", tenant_id="t1")
        start = time.perf_counter()
        rt.invoke(ctx, "PH1CAPREQ_REBUILD_CURRENT_ROWS", {})
        seconds = time.perf_counter() - start
        rt.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"events": n, "seconds": seconds, "events_per_s": n / seconds, "peak_mib": peak}


def replay_peer(n: int) -> dict[str, float]:
    """eventsourcing 9: n events of one aggregate type on its SQLite recorder, then a replay
    of every aggregate (the peer's equivalent of a projection rebuild)."""
    import os

    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Request(Aggregate):
        @event("Acted")
        def act(self, action: str) -> None:
            self.last_action = action

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
        os.environ["SQLITE_DBNAME"] = str(Path(tmp) / "es.sqlite3")
        app: Application[Any] = Application()
        ids = []
        for _ in range(n // EVENTS_PER_REQUEST):
            request = Request()
            for action in ACTIONS[1:]:
                request.act(action)
            app.save(request)
            ids.append(request.id)
        start = time.perf_counter()
        for request_id in ids:
            app.repository.get(request_id)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"events": n, "seconds": seconds, "events_per_s": n / seconds, "peak_mib": peak}


def in_child(kind: str, n: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--n", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--peer", action="store_true", help="also time eventsourcing replay")
    parser.add_argument("--child", choices=["ecm", "peer", "fill"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "fill":
        fill_ledger(args.url, args.n[0])
        return
    if args.child:
        measure = rebuild_once if args.child == "ecm" else replay_peer
        print(json.dumps(measure(args.n[0])))
        return
    print(
        f"{'events':>9} {'ecm events/s':>13} {'peak MiB':>9}"
        + ("  peer events/s  ratio" * args.peer)
    )
    for n in args.n:
        ours = in_child("ecm", n)
        line = f"{n:>9} {ours['events_per_s']:>13,.0f} {ours['peak_mib']:>9.1f}"
        if args.peer:
            theirs = in_child("peer", n)
            ratio = ours["events_per_s"] / theirs["events_per_s"]
            line += f"  {theirs['events_per_s']:>13,.0f}  {ratio:>5.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
