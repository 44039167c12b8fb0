"""Verifying the ledgers' chains (chain.py) against the rows, and against signed checkpoints
(checkpoints.py); making checkpoints; proving one row's inclusion.

What a pass proves: every row up to a chain's latest checkpoint is exactly the row that was
checkpointed (its entry is a leaf of the signed tree head), and the rows after it chain on
from it without a gap, a fork or an edit. What it cannot prove: rows after the latest
checkpoint can be rewritten consistently by whoever holds the database (recomputing every
digest after the edit); checkpoint often, and keep the checkpoints where the database's
owners cannot write.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from ecm_contract import CHAIN_DIGEST_COLUMN, CHAIN_SEQ_COLUMN, AuditColumn
from sqlalchemy.engine import Connection

from ecm_runtime import checkpoints, merkle
from ecm_runtime.canonical import canonical_json, text_digest
from ecm_runtime.chain import HEADS, chain_of, entry, entry_columns, genesis, link, parsed
from ecm_runtime.checkpoints import Checkpoint, CheckpointError, Signer, Verifier
from ecm_runtime.connect import make_engine
from ecm_runtime.facts import facts
from ecm_runtime.schema import ledger_tables

REDACTED = "ecm_redacted"
"""A payload redacted after the fact is `{"ecm_redacted": <why>}`: its digest, which the
chain covers, stays the original payload's, and only the payload check is skipped."""


@dataclass(frozen=True, slots=True)
class Finding:
    where: str
    kind: str
    """row altered, row deleted, row inserted, rows reordered, chain forked, payload altered,
    checkpoint mismatch, checkpoint signature bad."""
    message: str

    def line(self) -> str:
        return f"{self.where}: error[{self.kind}]: {self.message}"

    def json(self) -> dict[str, str]:
        return {"where": self.where, "kind": self.kind, "message": self.message}


@dataclass
class Chain:
    """One chain's rows as the database holds them, in chain order, and what they show."""

    table: sa.Table
    name: str
    rows: list[Mapping[str, Any]] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    """The RFC 6962 leaf of each row's entry, recomputed from the row."""
    findings: list[Finding] = field(default_factory=list)
    unchained: int = 0
    """Rows from before the ledger was chained (a database older than its chains): every
    one numbered before the chain's first row, so none can be a row slipped in since; they
    are counted, and not covered."""

    @property
    def origin(self) -> str:
        return checkpoints.origin(self.table.name, self.name)

    def at(self, row: Mapping[str, Any]) -> str:
        sequence = facts(self.table).numbered
        return f"{self.origin}#{row.get(CHAIN_SEQ_COLUMN)} ({sequence} {row.get(sequence)})"

    def find(self, row: Mapping[str, Any] | None, kind: str, message: str) -> None:
        where = self.at(row) if row is not None else self.origin
        self.findings.append(Finding(where, kind, message))

    def digest_at(self, size: int) -> bytes | None:
        return parsed(self.rows[size - 1].get(CHAIN_DIGEST_COLUMN)) if size else None


def read_chains(connection: Connection, tables: Iterable[sa.Table]) -> list[Chain]:
    """Every chain of every ledger, each checked link by link."""
    found: list[Chain] = []
    for table in tables:
        by_name: dict[str, Chain] = {}
        tenant = facts(table).tenant_column
        sequence = table.c[facts(table).numbered]
        query = sa.select(table).order_by(table.c[CHAIN_SEQ_COLUMN], sequence)
        for row in connection.execute(query).mappings():
            name = chain_of(row[tenant] if tenant else None)
            by_name.setdefault(name, Chain(table, name)).rows.append(dict(row))
        found.extend(by_name[name] for name in sorted(by_name))
    heads = {(h.ledger, h.chain): h.seq for h in connection.execute(sa.select(HEADS))}
    for chain in found:
        _check_links(chain)
        at = heads.get((chain.table.name, chain.name), 0)
        if at > len(chain.rows) and not any(f.kind == "row deleted" for f in chain.findings):
            last = chain.rows[-1] if chain.rows else None
            chain.find(last, "row deleted", f"the chain's head is at {at}, its last row is not")
    return found


def _check_links(chain: Chain) -> None:
    table, columns = chain.table, entry_columns(chain.table)
    sequence = facts(table).numbered
    previous, expected, last_sequence = genesis(table.name, chain.name), 1, None
    placed: list[Mapping[str, Any]] = []
    chained = [r[sequence] for r in chain.rows if r.get(CHAIN_SEQ_COLUMN) is not None]
    first = min(chained, default=None)
    for row in chain.rows:
        seq, stored = row.get(CHAIN_SEQ_COLUMN), parsed(row.get(CHAIN_DIGEST_COLUMN))
        unplaced = seq is None and row.get(CHAIN_DIGEST_COLUMN) is None
        if unplaced and (first is None or row[sequence] < first):
            chain.unchained += 1
            continue
        if seq is None or stored is None:
            chain.find(row, "row inserted", "it has no place in the chain: written around it")
            continue
        if seq < expected:
            chain.find(row, "chain forked", f"a second row at place {seq} of the chain")
            continue
        if seq > expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
            chain.find(row, "row deleted", f"the chain has no row at place {missing}")
        leaf = merkle.leaf_hash(entry(columns, row))
        if link(previous, leaf) != stored:
            chain.find(
                row, "row altered", "its entry and the digest before it do not give its digest"
            )
        if last_sequence is not None and row[sequence] < last_sequence:
            chain.find(row, "rows reordered", f"its {sequence} comes before the previous row's")
        _check_payload(chain, row)
        previous, expected, last_sequence = stored, seq + 1, row[sequence]
        placed.append(row)
        chain.leaves.append(leaf)
    chain.rows = placed


def _check_payload(chain: Chain, row: Mapping[str, Any]) -> None:
    """An audit row's payload is the one its digest (which the chain covers) names."""
    payload = row.get(AuditColumn.PAYLOAD)
    digest = row.get(AuditColumn.PAYLOAD_DIGEST)
    if AuditColumn.PAYLOAD_DIGEST not in chain.table.c or digest is None:
        return
    if isinstance(payload, Mapping) and set(payload) == {REDACTED}:
        return
    if text_digest(canonical_json(payload)) != digest:
        chain.find(row, "payload altered", "its payload is not the one its payload_digest names")


# --- checkpoints ----------------------------------------------------------------------------


def head(chain: Chain) -> Checkpoint:
    """The chain's tree head as it stands."""
    size = len(chain.leaves)
    last = chain.digest_at(size) or genesis(chain.table.name, chain.name)
    return Checkpoint(chain.origin, size, merkle.root(chain.leaves), last)


def check_checkpoints(
    chains: Sequence[Chain], directory: Path, verifier: Verifier
) -> list[Finding]:
    """Each stored checkpoint against its chain: signed by the key, and its tree head the one
    the rows give now. A chain the checkpoints know and the database lost is found too."""
    findings: list[Finding] = []
    by_origin = {c.origin: c for c in chains}
    for path in checkpoints.stored(directory):
        try:
            checkpoint = checkpoints.opened(path, path.read_text(encoding="utf-8"), verifier)
        except (CheckpointError, OSError, UnicodeDecodeError) as error:
            findings.append(Finding(str(path), "checkpoint signature bad", _why(error, path)))
            continue
        problem = _against(by_origin.get(checkpoint.origin), checkpoint)
        if problem is not None:
            findings.append(Finding(str(path), "checkpoint mismatch", problem))
    return findings


def _why(error: Exception, path: Path) -> str:
    return str(error).removeprefix(f"{path}: ")


def _against(chain: Chain | None, checkpoint: Checkpoint) -> str | None:
    if chain is None:
        return f"the database has no chain {checkpoint.origin}: its {checkpoint.size} rows are gone"
    if len(chain.leaves) < checkpoint.size:
        return (
            f"the chain has {len(chain.leaves)} rows in place, the checkpoint {checkpoint.size}: "
            "rows were deleted"
        )
    if merkle.root(chain.leaves[: checkpoint.size]) != checkpoint.root:
        return f"rows 1..{checkpoint.size} are not the rows checkpointed: rewritten since"
    if chain.digest_at(checkpoint.size) != checkpoint.last:
        return f"the chain's digest at {checkpoint.size} is not the one checkpointed"
    return None


def latest(directory: Path, verifier: Verifier, origin: str) -> Checkpoint | None:
    """The largest checkpoint of a chain that the key signed."""
    for path in reversed(checkpoints.stored(directory, origin)):
        try:
            return checkpoints.opened(path, path.read_text(encoding="utf-8"), verifier)
        except (CheckpointError, OSError, UnicodeDecodeError):
            continue
    return None


def checkpoint(chains: Sequence[Chain], directory: Path, signer: Signer) -> list[Path]:
    """Sign each chain's head, unless it is the latest checkpoint already. Refuses (writes
    nothing) if any chain fails its checks or its checkpoints: a checkpoint vouches for
    rows, and must never vouch for rewritten ones."""
    findings = [f for c in chains for f in c.findings]
    findings += check_checkpoints(chains, directory, signer.verifier)
    if findings:
        raise Unverified(findings)
    written = []
    for chain in chains:
        now = head(chain)
        before = latest(directory, signer.verifier, chain.origin)
        if before is None or before.size != now.size:
            written.append(checkpoints.write(directory, now, signer))
    return written


class Unverified(Exception):
    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(f"{len(findings)} findings")
        self.findings = findings


# --- one row's proof ------------------------------------------------------------------------


def prove(
    chains: Sequence[Chain], table: sa.Table, row_id: int, directory: Path, verifier: Verifier
) -> dict[str, Any]:
    """An inclusion proof of one row in its chain's latest checkpoint that covers it, which a
    third party checks with the public key alone (`check_proof`)."""
    sequence = facts(table).numbered
    for chain in chains:
        if chain.table is not table:
            continue
        for index, row in enumerate(chain.rows):
            if row[sequence] == row_id:
                return _proof(chain, index, directory, verifier)
    raise LookupError(f"{table.name} has no row with {sequence} {row_id} in place in a chain")


def _proof(chain: Chain, index: int, directory: Path, verifier: Verifier) -> dict[str, Any]:
    found = latest(directory, verifier, chain.origin)
    if found is None or found.size <= index:
        raise LookupError(f"no checkpoint of {chain.origin} covers its row {index + 1} yet")
    if merkle.root(chain.leaves[: found.size]) != found.root:
        raise LookupError(f"{chain.origin} does not match its checkpoint: run `ecmc audit verify`")
    path = checkpoints.path_of(directory, found)
    proof = merkle.inclusion_proof(chain.leaves[: found.size], index)
    return {
        "origin": chain.origin,
        "index": index,
        "size": found.size,
        "entry": entry(entry_columns(chain.table), chain.rows[index]).decode(),
        "path": [p.hex() for p in proof],
        "checkpoint": path.read_text(encoding="utf-8"),
    }


def prove_consistency(
    chains: Sequence[Chain], origin: str, old_size: int, directory: Path, verifier: Verifier
) -> dict[str, Any]:
    """A consistency proof (RFC 6962 §2.1.2) from a chain's checkpoint of `old_size` to its
    latest: that the later tree head extends the earlier one, nothing in it rewritten."""
    chain = next((c for c in chains if c.origin == origin), None)
    new = latest(directory, verifier, origin)
    paths = {int(p.stem): p for p in checkpoints.stored(directory, origin) if p.stem.isdigit()}
    if chain is None or new is None or old_size not in paths:
        raise LookupError(f"no checkpoints of {origin} at {old_size} and after it")
    if merkle.root(chain.leaves[: new.size]) != new.root:
        raise LookupError(f"{origin} does not match its checkpoint: run `ecmc audit verify`")
    return {
        "origin": origin,
        "old": paths[old_size].read_text(encoding="utf-8"),
        "new": checkpoints.path_of(directory, new).read_text(encoding="utf-8"),
        "consistency": [
            p.hex() for p in merkle.consistency_proof(chain.leaves[: new.size], old_size)
        ],
    }


def check_proof(proof: Mapping[str, Any], verifier: Verifier) -> str | None:
    """What is wrong with a proof (None: it holds): its checkpoint is the key's, and its
    entry is leaf `index` of that checkpoint's tree; or, for a consistency proof, both its
    checkpoints are the key's and the later extends the earlier."""
    if "consistency" in proof:
        return _check_consistency(proof, verifier)
    try:
        note = str(proof["checkpoint"])
        found = checkpoints.opened(Path("checkpoint"), note, verifier)
        index, size = int(proof["index"]), int(proof["size"])
        path = [bytes.fromhex(str(p)) for p in proof["path"]]
        leaf = merkle.leaf_hash(str(proof["entry"]).encode())
    except CheckpointError as error:
        return str(error).removeprefix("checkpoint: ")
    except (KeyError, TypeError, ValueError) as error:
        return f"not a proof: {error}"
    if found.origin != proof.get("origin") or found.size != size:
        return "the proof names another chain or size than its checkpoint"
    if not merkle.verify_inclusion(leaf, index, size, path, found.root):
        return f"the entry is not leaf {index} of the checkpointed tree of {size}"
    return None


# --- a database's ledgers -------------------------------------------------------------------


def ledgers(package: str) -> list[sa.Table]:
    """The ledger tables of a generated package: every one is chained."""
    tables = importlib.import_module(f"{package}.tables")
    return ledger_tables(tables.metadata)


def snapshot(url: str, tables: Sequence[sa.Table]) -> list[Chain]:
    """Every chain as one snapshot of the database sees it (on PostgreSQL a repeatable-read
    transaction: writers that commit meanwhile are not half seen)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            with connection.begin():
                return read_chains(connection, tables)
    finally:
        engine.dispose()


def _check_consistency(proof: Mapping[str, Any], verifier: Verifier) -> str | None:
    try:
        old = checkpoints.opened(Path("old"), str(proof["old"]), verifier)
        new = checkpoints.opened(Path("new"), str(proof["new"]), verifier)
        path = [bytes.fromhex(str(p)) for p in proof["consistency"]]
    except CheckpointError as error:
        return str(error)
    except (KeyError, TypeError, ValueError) as error:
        return f"not a proof: {error}"
    if old.origin != new.origin:
        return "its checkpoints are of two chains"
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, path):
        return f"the tree of {new.size} does not extend the checkpointed tree of {old.size}"
    return None
