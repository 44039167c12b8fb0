"""The audit log can be verified without trusting the database (issue 27): a tamper matrix on
both backends, each tamper done as the tables' owner would (triggers off, edit, triggers
on); every one is found, and an untouched log verifies."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_contract import CHAIN_DIGEST_COLUMN, CHAIN_SEQ_COLUMN
from ecm_runtime import Runtime
from ecm_runtime.chain import HEADS, chain_of, entry, entry_columns, genesis, link, spelled
from ecm_runtime.chain_check import check_checkpoints, checkpoint, snapshot
from ecm_runtime.checkpoints import Checkpoint, keygen, load_signer, load_verifier
from ecm_runtime.merkle import leaf_hash
from ecm_runtime.schema import ledger_tables
from sqlalchemy.engine import Connection

from conftest import REPO
from storage import BACKENDS, backend_url
from test_audit_contract import event

TENANT = "tenant-a"
CHECKPOINTED, AFTER = 4, 2
"""Rows in the log when it is checkpointed, and rows written after."""


class Log:
    """An audit log of one tenant (and a row of another), checkpointed part way."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url, self.tmp = url, tmp_path
        self.rt = Runtime.open(url)
        self.table = self.rt.metadata.tables["audit_events"]
        keygen(tmp_path / "keys", "test-key")
        self.signer = load_signer(tmp_path / "keys" / "signing.key")
        self.verifier = load_verifier(tmp_path / "keys" / "public.key")
        self.checkpoints = tmp_path / "checkpoints"
        self.write(CHECKPOINTED, "before")
        self.write(1, "other", tenant="tenant-b")
        assert checkpoint(self.chains(), self.checkpoints, self.signer)
        self.write(AFTER, "after")

    def write(self, count: int, prefix: str, tenant: str = TENANT) -> None:
        ctx = self.rt.context(caller="SELENE_OS", tenant_id=tenant)
        for n in range(count):
            payload = event(idempotency_key=f"{prefix}-{n}", payload_min={"gate": f"g{n}"})
            self.rt.invoke(ctx, "PH1J_APPEND_AUDIT_EVENT", payload)

    def chains(self) -> list[Any]:
        return snapshot(self.url, ledger_tables(self.rt.metadata))

    def findings(self) -> list[tuple[str, str]]:
        chains = self.chains()
        found = [f for c in chains for f in c.findings]
        found += check_checkpoints(chains, self.checkpoints, self.verifier)
        return [(f.kind, f.where) for f in found]

    def rows(self) -> list[dict[str, Any]]:
        """The tenant's rows, in chain order."""
        table = self.table
        query = sa.select(table).where(table.c.tenant_id == TENANT)
        with self.rt.engine.connect() as connection:
            rows = connection.execute(query.order_by(table.c[CHAIN_SEQ_COLUMN])).mappings()
            return [dict(r) for r in rows]

    @contextmanager
    def owner(self) -> Iterator[Connection]:
        """A transaction of the tables' owner with the append-only guards out of the way."""
        with self.rt.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
                yield connection
                connection.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")
                return
            triggers = connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'audit_events'"
            ).all()
            for name, _ in triggers:
                connection.exec_driver_sql(f"DROP TRIGGER {name}")
            yield connection
            for _, sql in triggers:
                connection.exec_driver_sql(sql)

    def update(self, row: dict[str, Any], **values: Any) -> None:
        table = self.table
        with self.owner() as connection:
            connection.execute(table.update().where(table.c.event_id == row["event_id"]), values)

    def delete(self, row: dict[str, Any]) -> None:
        with self.owner() as connection:
            connection.execute(self.table.delete().where(self.table.c.event_id == row["event_id"]))

    def insert(self, row: dict[str, Any]) -> None:
        with self.owner() as connection:
            connection.execute(self.table.insert(), row)


@pytest.fixture(params=BACKENDS)
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    for url in backend_url(request.param, tmp_path):
        made = Log(url, tmp_path)
        yield made
        made.rt.close()


def kinds(log: Log) -> set[str]:
    return {kind for kind, _ in log.findings()}


def test_an_untouched_log_verifies(log: Log) -> None:
    assert log.findings() == []
    assert [r[CHAIN_SEQ_COLUMN] for r in log.rows()] == list(range(1, CHECKPOINTED + AFTER + 1))


ALTERED = {
    "created_at": 1,
    "tenant_id": "tenant-b",
    "work_order_id": "wo-forged",
    "session_id": "forged",
    "user_id": "forged",
    "device_id": "forged",
    "engine": "PH1.D",
    "event_type": "GATE_FAIL",
    "reason_code": "J_FORGED",
    "severity": "CRITICAL",
    "correlation_id": 999,
    "turn_id": 999,
    "payload_digest": "0" * 64,
    "evidence_ref": {"forged": True},
    "idempotency_key": "forged",
    CHAIN_DIGEST_COLUMN: spelled(bytes(32)),
}


@pytest.mark.parametrize("column", sorted(ALTERED))
@pytest.mark.parametrize("place", [1, CHECKPOINTED + 1])  # checkpointed, and after
def test_altering_any_envelope_column_is_found(log: Log, column: str, place: int) -> None:
    assert column in entry_columns(log.table) or column == CHAIN_DIGEST_COLUMN
    log.update(log.rows()[place], **{column: ALTERED[column]})
    found = kinds(log)
    assert "row altered" in found or "row inserted" in found, found
    if place < CHECKPOINTED and column != CHAIN_DIGEST_COLUMN:
        assert "checkpoint mismatch" in found


def test_a_changed_payload_is_found_and_a_redacted_one_is_not(log: Log) -> None:
    row = log.rows()[1]
    log.update(row, payload_min={"gate": "forged"})
    assert kinds(log) == {"payload altered"}
    log.update(row, payload_min={"ecm_redacted": "J_REDACT_APPLIED"})
    assert log.findings() == []  # the chain covers the payload's digest, not its text


@pytest.mark.parametrize("place", [0, 2, CHECKPOINTED + AFTER - 1], ids=["first", "middle", "last"])
def test_deleting_a_row_is_found(log: Log, place: int) -> None:
    log.delete(log.rows()[place])
    assert "row deleted" in kinds(log)


def test_a_row_inserted_in_the_middle_is_found(log: Log) -> None:
    copied = {k: v for k, v in log.rows()[2].items() if k != "event_id"}
    log.insert({**copied, "idempotency_key": "inserted"})
    assert "chain forked" in kinds(log)


def test_a_row_inserted_around_the_chain_is_found(log: Log) -> None:
    copied = {k: v for k, v in log.rows()[2].items() if k != "event_id"}
    unplaced = {CHAIN_SEQ_COLUMN: None, CHAIN_DIGEST_COLUMN: None}
    log.insert({**copied, "idempotency_key": "inserted", **unplaced})
    assert "row inserted" in kinds(log)


def test_rows_from_before_the_chain_are_counted_and_not_covered(log: Log) -> None:
    # A database older than its chains: rows numbered before the chain's first row.
    copied = {k: v for k, v in log.rows()[2].items() if k != "event_id"}
    unplaced = {CHAIN_SEQ_COLUMN: None, CHAIN_DIGEST_COLUMN: None}
    log.insert({**copied, "event_id": -5, "idempotency_key": "older", **unplaced})
    assert log.findings() == []
    (chain,) = [c for c in log.chains() if c.name == chain_of(TENANT)]
    assert chain.unchained == 1


def test_two_rows_reordered_are_found(log: Log) -> None:
    first, second = log.rows()[1:3]
    # Their places in the log's order swapped: each takes the other's sequence number.
    log.update(first, event_id=-1)
    log.update(second, event_id=first["event_id"])
    log.update({"event_id": -1}, event_id=second["event_id"])
    assert "rows reordered" in kinds(log)


def test_two_rows_whose_contents_are_swapped_are_found(log: Log) -> None:
    first, second = log.rows()[1:3]
    keep = {"event_id", CHAIN_SEQ_COLUMN, CHAIN_DIGEST_COLUMN}
    log.update(first, idempotency_key="swapping")
    log.update(second, **{k: v for k, v in first.items() if k not in keep})
    log.update(first, **{k: v for k, v in second.items() if k not in keep})
    assert {"row altered", "checkpoint mismatch"} <= kinds(log)


def forge_tail(log: Log, start: int) -> None:
    """Replace the tenant's rows from place `start` (0-based) on with a consistent forged
    chain, the heads table moved along: what whoever holds the database can do."""
    rows, table = log.rows(), log.table
    columns = entry_columns(table)
    chain = chain_of(TENANT)
    previous = genesis(table.name, chain)
    if start:
        previous = bytes.fromhex(rows[start - 1][CHAIN_DIGEST_COLUMN].split(":")[1])
    with log.owner() as connection:
        for row in rows[start:]:
            forged = {**row, "reason_code": "J_FORGED"}
            previous = link(previous, leaf_hash(entry(columns, forged)))
            forged[CHAIN_DIGEST_COLUMN] = spelled(previous)
            connection.execute(table.delete().where(table.c.event_id == row["event_id"]))
            connection.execute(table.insert(), forged)
        where = sa.and_(HEADS.c.ledger == table.name, HEADS.c.chain == chain)
        connection.execute(HEADS.update().where(where).values(digest=spelled(previous)))


def test_a_forged_tail_over_checkpointed_rows_is_found(log: Log) -> None:
    forge_tail(log, 1)
    assert kinds(log) == {"checkpoint mismatch"}  # it chains: only the checkpoint tells


def test_a_forged_tail_after_the_last_checkpoint_is_what_a_checkpoint_cannot_see(
    log: Log,
) -> None:
    # docs/runtime-contracts.md says so: checkpoint often.
    forge_tail(log, CHECKPOINTED)
    assert log.findings() == []


def test_forged_checkpoints_are_found(log: Log, tmp_path: Path) -> None:
    path = next(log.checkpoints.glob(f"*{chain_of(TENANT).replace(':', '%3A')}/*"))
    text = path.read_text()
    path.write_text(text.replace(f"\n{CHECKPOINTED}\n", f"\n{CHECKPOINTED - 1}\n", 1))
    assert ("checkpoint signature bad", str(path)) in log.findings()
    keygen(tmp_path / "other", "test-key")
    stranger = load_signer(tmp_path / "other" / "signing.key")
    forged = Checkpoint(f"audit_events/{chain_of(TENANT)}", 1, bytes(32), bytes(32))
    path.write_text(forged.signed(stranger))
    assert ("checkpoint signature bad", str(path)) in log.findings()


def test_no_checkpoint_is_signed_over_a_log_that_does_not_verify(log: Log) -> None:
    from ecm_runtime.chain_check import Unverified

    log.delete(log.rows()[0])
    with pytest.raises(Unverified):
        checkpoint(log.chains(), log.checkpoints, log.signer)


def ecmc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecmc", "audit", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_commands_verify_prove_and_report(log: Log, tmp_path: Path) -> None:
    keys, points = tmp_path / "keys", str(log.checkpoints)
    common = ["--url", log.url, "--public-key", str(keys / "public.key"), "--checkpoints", points]
    assert ecmc("verify", *common).returncode == 0
    signed = ecmc(
        "checkpoint", "--url", log.url, "--key", str(keys / "signing.key"), "--out", points
    )
    assert signed.returncode == 0, signed.stderr
    proved = ecmc("prove", str(log.rows()[CHECKPOINTED + 1]["event_id"]), *common)
    assert proved.returncode == 0, proved.stderr
    proof = tmp_path / "proof.json"
    proof.write_text(proved.stdout)
    checked = ecmc("check-proof", str(proof), "--public-key", str(keys / "public.key"))
    assert checked.returncode == 0, checked.stdout
    bent = json.loads(proved.stdout)
    bent["entry"] = bent["entry"].replace("J_IDEMPOTENCY_REPLAY", "J_FORGED")
    proof.write_text(json.dumps(bent))
    refused = ecmc("check-proof", str(proof), "--public-key", str(keys / "public.key"))
    assert refused.returncode == 1 and "proof bad" in refused.stdout
    origin = f"audit_events/{chain_of(TENANT)}"
    extended = ecmc("consistency", origin, str(CHECKPOINTED), *common)
    assert extended.returncode == 0, extended.stderr
    proof.write_text(extended.stdout)
    checked = ecmc("check-proof", str(proof), "--public-key", str(keys / "public.key"))
    assert checked.returncode == 0 and "extends" in checked.stdout, checked.stdout
    bent = json.loads(extended.stdout)
    bent["consistency"][0] = "00" * 32
    proof.write_text(json.dumps(bent))
    refused = ecmc("check-proof", str(proof), "--public-key", str(keys / "public.key"))
    assert refused.returncode == 1 and "does not extend" in refused.stdout
    log.update(log.rows()[0], severity="CRITICAL")
    failed = ecmc("verify", *common, "--format", "json")
    assert failed.returncode == 1
    assert {f["kind"] for f in json.loads(failed.stdout)["findings"]} >= {"row altered"}
    lines = ecmc("verify", *common).stdout.splitlines()
    assert any(": error[row altered]: " in line and f"{TENANT}#1 " in line for line in lines)


def test_concurrent_writers_of_one_chain_never_fork_it(log: Log) -> None:
    import threading

    errors: list[BaseException] = []

    def write(prefix: str) -> None:
        try:
            log.write(10, prefix)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert log.findings() == []
    assert len(log.rows()) == CHECKPOINTED + AFTER + 40


def test_the_application_role_appends_but_cannot_disable_a_guard_or_rewrite_a_row(
    tmp_path: Path,
) -> None:
    from ecm_runtime.privileges import grant_application_role

    from storage import APP_ROLE, postgres_url

    for url in postgres_url():
        owner = Runtime.open(url)
        with owner.engine.begin() as connection:
            tables = [*owner.metadata.sorted_tables, *HEADS.metadata.sorted_tables]
            grant_application_role(connection, tables, APP_ROLE)
        owner.close()
        as_app = url.replace("?options=", f"?options=-crole%3D{APP_ROLE}%20")
        log = Log(as_app, tmp_path)
        try:
            with log.rt.engine.connect() as connection:
                assert connection.exec_driver_sql("SELECT current_user").scalar() == APP_ROLE
            for statement in (
                "ALTER TABLE audit_events DISABLE TRIGGER USER",
                "UPDATE audit_events SET severity = 'CRITICAL'",
                "DELETE FROM audit_events",
                "TRUNCATE audit_events",
            ):
                refused = pytest.raises(sa.exc.ProgrammingError, match=r"must be owner|permission")
                with refused, log.rt.engine.begin() as connection:
                    connection.exec_driver_sql(statement)
            assert log.findings() == []
        finally:
            log.rt.close()
            with sa.create_engine(url).begin() as connection:
                connection.exec_driver_sql(f'DROP OWNED BY "{APP_ROLE}"')


def test_writers_in_two_processes_take_turns_on_one_chain(log: Log) -> None:
    # Each runtime's view of the head goes stale with every write of the other: the head is
    # then taken as it stands, never guessed.
    other = Runtime.open(log.url, create=False)
    try:
        ctx = [r.context(caller="SELENE_OS", tenant_id=TENANT) for r in (log.rt, other)]
        for n in range(6):
            rt = (log.rt, other)[n % 2]
            payload = event(idempotency_key=f"turn-{n}", payload_min={"gate": f"t{n}"})
            rt.invoke(ctx[n % 2], "PH1J_APPEND_AUDIT_EVENT", payload)
            rt.invoke(ctx[n % 2], "PH1J_APPEND_AUDIT_EVENT", payload)  # a retry: no move
    finally:
        other.close()
    assert log.findings() == []
    assert len(log.rows()) == CHECKPOINTED + AFTER + 6


def test_an_edit_past_the_triggers_by_replica_mode_is_found(tmp_path: Path) -> None:
    # A superuser's session_replication_role = replica switches the guards off without a
    # trace in the schema (verify_schema sees nothing); the chain still tells.
    from storage import postgres_url

    for url in postgres_url():
        log = Log(url, tmp_path)
        try:
            with log.rt.engine.begin() as connection:
                connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                table = log.table
                row = log.rows()[1]
                where = table.c.event_id == row["event_id"]
                connection.execute(table.update().where(where).values(reason_code="J_FORGED"))
            assert log.rt.verify_schema() == []
            assert {"row altered", "checkpoint mismatch"} <= kinds(log)
        finally:
            log.rt.close()
