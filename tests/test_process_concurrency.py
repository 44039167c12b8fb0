"""Separate processes, not threads: eight writers of one idempotency key, on both backends.

Each process opens its own runtime (its own engine, pool and connections), waits until all
eight are ready, then writes the same row with the same key at once. The database keys decide:
one row is written, every process gets its id, and exactly one of them is not a replay.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime

from storage import postgres_url, sqlite_url

WRITERS = 8
TENANT = "tenant-1"
WRITER = """
import json, sys
from ecm_runtime import Runtime
rt = Runtime.open(sys.argv[1], create=False)
ctx = rt.context(caller="SELENE_OS", tenant_id=sys.argv[2])
capability, payload = sys.argv[3], json.loads(sys.argv[4])
print("ready", flush=True)
sys.stdin.readline()
written = rt.invoke(ctx, capability, payload)
print(json.dumps({"id": written.id, "replayed": written.replayed}), flush=True)
"""
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ledger append": (
        "ART_APPEND_ARTIFACT_LEDGER_ROW",
        "artifacts_ledger",
        {
            "now": 1,
            "scope_type": "TENANT",
            "scope_id": TENANT,
            "artifact_type": "package",
            "artifact_version": 1,
            "package_hash": "p",
            "payload_ref": "r",
            "created_by": "b",
            "provenance_ref": "v",
            "status": "ACTIVE",
            "idempotency_key": "one-key",
        },
    ),
    "audit append": (
        "PH1J_APPEND_AUDIT_EVENT",
        "audit_events",
        {
            "now": 1,
            "engine": "PH1.J",
            "event_type": "GATE_PASS",
            "reason_code": "J_IDEMPOTENCY_REPLAY",
            "severity": "INFO",
            "correlation_id": 9,
            "turn_id": 1,
            "payload_min": {"gate": "g"},
            "idempotency_key": "one-key",
        },
    ),
}


class ProcessConcurrency:
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield ""

    @pytest.mark.parametrize("case", sorted(CASES))
    def test_eight_processes_with_one_key_write_one_row(self, url: str, case: str) -> None:
        capability, table, payload = CASES[case]
        Runtime.open(url).close()  # the schema, before the writers start
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, url, TENANT, capability, json.dumps(payload)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(WRITERS)
        ]
        try:
            for writer in writers:  # all eight have opened their runtime
                assert writer.stdout is not None
                assert writer.stdout.readline().strip() == "ready", writer.stderr
            for writer in writers:  # then all go at once
                assert writer.stdin is not None
                writer.stdin.write("go\n")
                writer.stdin.flush()
            answers = []
            for writer in writers:
                out, err = writer.communicate(timeout=120)
                assert writer.returncode == 0, err
                answers.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for writer in writers:
                writer.kill()
        assert len({answer["id"] for answer in answers}) == 1
        assert sorted(answer["replayed"] for answer in answers) == [False] + [True] * 7
        rt = Runtime.open(url, create=False)
        try:
            with rt.engine.connect() as connection:
                rows = connection.execute(
                    sa.select(sa.func.count()).select_from(rt.metadata.tables[table])
                ).scalar_one()
        finally:
            rt.close()
        assert rows == 1


class TestSQLite(ProcessConcurrency):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield sqlite_url(tmp_path)


class TestPostgreSQL(ProcessConcurrency):
    @pytest.fixture
    def url(self, tmp_path: Path) -> Iterator[str]:
        yield from postgres_url()
