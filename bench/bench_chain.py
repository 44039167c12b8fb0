"""What chaining costs and what verifying takes (issue 27).

Run by hand: `python bench/bench_chain.py [--url URL] [--n N] [--rounds R] [--verify N]`.
The same PH1.D commits (one ledger-free write that audits: one audit row each, one
transaction each) run through the runtime with the ledgers' chains, and through the same
runtime with the chain step taken out (its head taken and advanced: nothing else changes),
taking turns in rounds on the same database. Then a log of `--verify` rows is verified
(`chain_check.snapshot`: every row read, its entry re-hashed, its link checked, and the
Merkle root of the chain computed), and the rate is given per million rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_runtime import payload
from ecm_runtime import Runtime, chain, merkle
from ecm_runtime.chain_check import snapshot
from ecm_runtime.schema import ledger_tables


@contextmanager
def unchained() -> Iterator[None]:
    """The runtime without the chain step: rows go in as they would, unstamped."""
    stamped = chain.Chains.stamped

    def plain(self: chain.Chains, connection: Any, table: Any, row: Any) -> Any:
        return dict(row), None

    chain.Chains.stamped = plain  # type: ignore[method-assign]
    try:
        yield
    finally:
        chain.Chains.stamped = stamped  # type: ignore[method-assign]


def writes(rt: Runtime, start: int, n: int, tenant: str) -> float:
    ctx = rt.context(caller="SELENE_OS", tenant_id=tenant)
    began = time.perf_counter()
    for k in range(start, start + n):
        rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", {**payload(k), "tenant_id": tenant})
    return n / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="default: a SQLite file in a temporary directory")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--verify", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        rt = Runtime.open(url)
        rates: dict[str, list[float]] = {"chained": [], "unchained": []}
        done = 0
        for _ in range(args.rounds):
            rates["chained"].append(writes(rt, done, args.n, "t1"))
            done += args.n
            with unchained():
                rates["unchained"].append(writes(rt, done, args.n, "unchained"))
            done += args.n
        best = {name: max(found) for name, found in rates.items()}
        print(f"writes/s on {rt.engine.dialect.name}, best of {args.rounds} rounds of {args.n}:")
        for name, rate in best.items():
            print(f"  {name:<10} {rate:8.0f}/s")
        print(f"  chained / unchained = {best['chained'] / best['unchained']:.2f}")
        rt.close()
        verify(url, args.verify)


def verify(url: str, rows: int) -> None:
    """Write a tenant's log of `rows` audit rows, then verify its chain."""
    rt = Runtime.open(url, create=False)
    ctx = rt.context(caller="SELENE_OS", tenant_id="t2")
    for k in range(rows):
        rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", {**payload(10_000_000 + k), "tenant_id": "t2"})
    tables = ledger_tables(rt.metadata)
    rt.close()
    began = time.perf_counter()
    chains = [c for c in snapshot(url, tables) if c.name == chain.chain_of("t2")]
    read = time.perf_counter() - began
    roots = [merkle.root(c.leaves) for c in chains]
    took = time.perf_counter() - began
    total = sum(len(c.rows) for c in chains)
    assert not [f for c in chains for f in c.findings] and roots
    print(f"verify: {total} rows in {took:.2f} s ({read:.2f} s reading and checking links)")
    print(f"  = {took / total * 1e6:.0f} s per million rows")


if __name__ == "__main__":
    main()
