"""Chained row digests: every ledger row (the audit log's included) carries its place in its
chain and a digest that covers its whole envelope and the digest of the row before it.

- **What a row's digest covers.** Its *entry* is the canonical JSON of every column that
  means something: all the table's columns but the sequence (the database numbers a row as
  it inserts it), the commit position and the chain columns themselves. The audit log's
  payload is covered through `payload_digest`, not its text, so a payload redacted later
  (PH1.J's J_REDACT_APPLIED) leaves the chain verifiable: the verifier checks the payload
  against its digest only where the row is not redacted.
- **The chain.** One per ledger and tenant (the system scope's rows are a chain of their
  own): a tenant is the shard a distributed database splits by, and a chain never spans
  two. Its digests are SHA-256 (named in the data: `sha256:<hex>`), for standard
  verifiers: `digest(n) = SHA-256(digest(n-1) || leaf(entry(n)))`, with `leaf` RFC 6962's
  leaf hash (merkle.py), so the same leaves build the Merkle tree a checkpoint signs, and
  `digest(0)` a genesis value naming the ledger and the chain, so a row copied into another
  chain does not verify there.
- **Two writers never fork a chain.** A writer takes its chain's head row (the runtime's
  `ecm_chain_heads`) with an upsert that locks it until the writer's transaction ends, so
  the writers of one chain take their places one after another, and the writers of
  different tenants never wait for each other. A write that inserts nothing (a retry) leaves
  the head as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from ecm_contract import CHAIN_DIGEST_COLUMN, CHAIN_SEQ_COLUMN, POSITION_COLUMN, AuditColumn
from sqlalchemy.engine import Connection

from ecm_runtime.canonical import canonical_json
from ecm_runtime.facts import facts
from ecm_runtime.merkle import leaf_hash
from ecm_runtime.outcomes import metadata

ALGORITHM = "sha256"
SYSTEM_CHAIN = "system"
"""The chain of a ledger's rows that belong to no tenant; a tenant's is `tenant:<id>`."""

HEADS = sa.Table(
    "ecm_chain_heads",
    metadata,
    sa.Column("ledger", sa.Text(), primary_key=True),
    sa.Column("chain", sa.Text(), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("digest", sa.String(71), nullable=False),
    comment="The last row of each ledger's chain (ecm_runtime.chain): taken, and so locked, "
    "by each writer of the chain until its transaction ends.",
)

_OWN = frozenset({POSITION_COLUMN, CHAIN_SEQ_COLUMN, CHAIN_DIGEST_COLUMN})


def chain_of(tenant_id: object) -> str:
    return SYSTEM_CHAIN if tenant_id is None else f"tenant:{tenant_id}"


def genesis(ledger: str, chain: str) -> bytes:
    return hashlib.sha256(f"ecm-chain-v1\0{ledger}\0{chain}".encode()).digest()


def spelled(digest: bytes) -> str:
    return f"{ALGORITHM}:{digest.hex()}"


def parsed(spelling: object) -> bytes | None:
    """A digest from its spelling; None when it is not a SHA-256 digest so spelled."""
    if not isinstance(spelling, str) or not spelling.startswith(f"{ALGORITHM}:"):
        return None
    try:
        digest = bytes.fromhex(spelling.removeprefix(f"{ALGORITHM}:"))
    except ValueError:
        return None
    return digest if len(digest) == hashlib.sha256().digest_size else None


def link(previous: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(previous + leaf).digest()


def entry_columns(table: sa.Table) -> tuple[str, ...]:
    """The columns a row's entry covers, in the table's order: the audit log's payload is
    covered by its digest (redactable), every other column by its value."""
    left_out = {*_OWN, facts(table).identity}
    if AuditColumn.PAYLOAD_DIGEST in table.c:
        left_out.add(AuditColumn.PAYLOAD)
    return tuple(c.name for c in table.columns if c.name not in left_out)


def entry(columns: tuple[str, ...], row: Mapping[str, Any]) -> bytes:
    """A row's entry: its meaningful columns' values as canonical JSON (a column the row
    leaves out is NULL, as the database stores it)."""
    return canonical_json({name: _plain(row.get(name)) for name in columns}).encode()


def _plain(value: object) -> object:
    """One spelling per value, however the driver hands it back."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Head:
    ledger: str
    chain: str
    seq: int
    digest: bytes


class Chains:
    """The chain heads of every ledger: taken before a row is inserted, advanced after."""

    def __init__(self, insert: Callable[[sa.Table], Any]) -> None:
        statement = insert(HEADS)
        self._take = statement.on_conflict_do_update(
            index_elements=[HEADS.c.ledger, HEADS.c.chain],
            set_={"seq": statement.excluded.seq + HEADS.c.seq},  # + 0: a lock, no change
        ).returning(HEADS.c.seq, HEADS.c.digest)
        self._advance = (
            HEADS.update()
            .where(HEADS.c.ledger == sa.bindparam("l"), HEADS.c.chain == sa.bindparam("c"))
            .values(seq=sa.bindparam("s"), digest=sa.bindparam("d"))
        )
        self._columns: dict[str, tuple[str, ...]] = {}

    def stamped(
        self, connection: Connection, table: sa.Table, row: Mapping[str, Any]
    ) -> tuple[dict[str, Any], Head]:
        """The row with its place and digest in its chain, and the head it would make."""
        tenant = facts(table).tenant_column
        chain = chain_of(row.get(tenant) if tenant else None)
        start = {"ledger": table.name, "chain": chain, "seq": 0}
        start["digest"] = spelled(genesis(table.name, chain))
        seq, digest = connection.execute(self._take, start).one()
        columns = self._columns.get(table.name)
        if columns is None:
            columns = self._columns[table.name] = entry_columns(table)
        previous = parsed(digest)
        if previous is None:
            raise ValueError(f"the head of {table.name}'s chain {chain} is unreadable: {digest}")
        new = link(previous, leaf_hash(entry(columns, row)))
        stamped = {**row, CHAIN_SEQ_COLUMN: seq + 1, CHAIN_DIGEST_COLUMN: spelled(new)}
        return stamped, Head(table.name, chain, seq + 1, new)

    def advance(self, connection: Connection, head: Head) -> None:
        values = {"l": head.ledger, "c": head.chain, "s": head.seq, "d": spelled(head.digest)}
        connection.execute(self._advance, values)
