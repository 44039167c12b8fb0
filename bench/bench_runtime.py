"""Runtime write cost against a hand-written insert of the same rows (DESIGN §9).

Run by hand: `python bench/bench_runtime.py [--url URL] [--n N] [--rounds R]`; with a
PostgreSQL `--url` and `--clients 1 8`, the multi-process comparison of bench/clients.py.
Each PH1.D commit through the runtime validates its input, checks caller and tenant, and
inserts one audit row with its BLAKE3 digest under the idempotency key (chained: chain.py);
the baseline inserts the same rows
with SQLAlchemy Core, one transaction per row, on the same database (checked once: its row
reads back as the runtime's); on SQLite, the eventsourcing library saves as many single-event
aggregates holding the same decision record to a file in the same run (the peer). The writers
take turns in rounds, so drifts of the disk's latency hit them alike.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from ecm_contract import CHAIN_DIGEST_COLUMN, CHAIN_SEQ_COLUMN
from ecm_runtime import Runtime
from ecm_runtime.canonical import digest


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


DECISION = {"decision": "CHAT", "output_mode": "chat"}
"""What the PH1.D binding adds to a commit's audit payload."""


def decision(n: int) -> dict[str, object]:
    """The decision record a commit audits: the payload keys its spec lists, and the binding's."""
    fields = payload(n)
    keys = ("request_id", "prompt_template_version", "output_schema_hash", "tool_catalog_hash")
    keys += ("policy_context_hash", "transcript_hash", "model_id", "model_route_class")
    keys += ("temperature_bp", "max_tokens")
    return {key: fields[key] for key in keys} | DECISION


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        help="PostgreSQL (--url): client process counts to compare the runtime, the raw "
        "floor and eventsourcing at (bench/clients.py)",
    )
    args = parser.parse_args()
    if args.clients:
        from clients import run

        if not args.url:
            parser.error("--clients needs a PostgreSQL --url")
        run(args.url, args.clients, args.n)
        return
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
    """The write floor: the runtime's audit rows, digest included, inserted by a statement
    built once, one transaction per row."""
    audit = rt.metadata.tables["audit_events"]
    insert = sa.insert(audit)

    def row(n: int, key: str) -> dict[str, object]:
        fields, body = payload(n), decision(n)
        return {
            "created_at": fields["now"],
            "tenant_id": "t1",
            "work_order_id": None,
            "session_id": None,
            "user_id": fields["user_id"],
            "device_id": fields["device_id"],
            "engine": "PH1.D",
            "event_type": "Other",
            "reason_code": fields["reason_code"],
            "severity": "INFO",
            "correlation_id": fields["correlation_id"],
            "turn_id": fields["turn_id"],
            "payload_min": body,
            "payload_digest": digest(body),
            "evidence_ref": None,
            "idempotency_key": key,
        }

    def write(numbers: range) -> float:
        start = time.perf_counter()
        for n in numbers:
            with rt.engine.begin() as connection:
                connection.execute(insert, row(n, f"c{n}"))
        return time.perf_counter() - start

    same_rows(rt, write)
    return write


def same_rows(rt: Runtime, core: Writer) -> None:
    """The baseline writes what the runtime writes: one row each, compared column by column."""
    from selene_ecm.engines import ph1_d

    ctx = rt.context(caller="SELENE_OS", tenant_id="t1")
    number = 10**9  # beyond the numbers the run writes
    ph1_d.chat_commit_row(ctx, ph1_d.ChatCommitRowInput.model_validate(payload(number)))
    core(range(number, number + 1))
    audit = rt.metadata.tables["audit_events"]
    with rt.engine.connect() as connection:
        mine = audit.c.created_at == payload(number)["now"]
        query = sa.select(audit).where(mine).order_by(audit.c.event_id)
        ours, theirs = (dict(r) for r in connection.execute(query).mappings())
    # The floor writes no chain: that is the runtime's (bench/bench_chain.py measures it).
    for differs in ("event_id", "idempotency_key", CHAIN_SEQ_COLUMN, CHAIN_DIGEST_COLUMN):
        del ours[differs], theirs[differs]
    assert ours == theirs, f"the Core baseline writes another row: {ours} != {theirs}"


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
        def __init__(self, record: dict[str, object]) -> None:
            self.record = record

    os.environ.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(path))
    app: Application[Any] = Application()

    def write(numbers: range) -> float:
        start = time.perf_counter()
        for n in numbers:
            app.save(Decision(decision(n)))
        return time.perf_counter() - start

    return write


if __name__ == "__main__":
    main()
