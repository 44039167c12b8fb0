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
- **Two writers never fork a chain.** A writer moves its chain's head row (the runtime's
  `ecm_chain_heads`) before it inserts its row, with an UPDATE that also locks the head until
  the writer's transaction ends (on PostgreSQL the UPDATE links the digest itself), so the
  writers of one chain take their places one after another, and the writers of different
  tenants never wait for each other. A write that inserts nothing (a retry) puts the head
  back; a transaction that rolls back takes its move with it. A chain takes one writer at
  a time: the price of one order per tenant, which per-tenant chains keep from being the
  whole database's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from ecm_contract import CHAIN_DIGEST_COLUMN, CHAIN_SEQ_COLUMN, POSITION_COLUMN, AuditColumn
from ecm_contract.invariants import BrokenInvariant, present
from sqlalchemy.engine import Connection, Dialect

from ecm_runtime.canonical import canonical_json
from ecm_runtime.facts import facts
from ecm_runtime.merkle import leaf_hash
from ecm_runtime.outcomes import metadata
from ecm_runtime.prepared import Prepared

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
    sqlite_with_rowid=False,  # one b-tree, so a write dirties one page more, not two
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


_SCALARS = frozenset({str, int, bool, float, type(None)})


def _plain(value: object) -> object:
    """One spelling per value, however the driver hands it back."""
    if type(value) in _SCALARS:
        return value
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
    """A chain's last row: its place and its digest."""

    seq: int
    digest: bytes


class Chains:
    """The chain heads of every ledger, moved on as each row is stamped.

    A writer moves its chain's head *before* it inserts the row, with an UPDATE that also
    locks the head until the writer's transaction ends. On PostgreSQL the UPDATE links the
    digest in SQL: one statement, whoever moved the head last. Elsewhere it is conditioned on
    the head this process last saw (one statement while that view is right); when it is not
    (another process wrote since, or a transaction rolled back), the writer takes the head as
    it stands, locked, and moves it then. An insert that adds nothing (a retry) puts the head
    back."""

    def __init__(self, insert: Callable[[sa.Table], Any], dialect: Dialect) -> None:
        statement = insert(HEADS)
        take = statement.on_conflict_do_update(
            index_elements=[HEADS.c.ledger, HEADS.c.chain],
            set_={"seq": statement.excluded.seq + HEADS.c.seq},  # + 0: a lock, no change
        ).returning(HEADS.c.seq, HEADS.c.digest)
        self._take = Prepared(take, dialect, ("ledger", "chain", "seq", "digest"))
        at = (HEADS.c.ledger == sa.bindparam("l"), HEADS.c.chain == sa.bindparam("c"))
        moved: dict[str, Any] = {"seq": sa.bindparam("s"), "digest": sa.bindparam("d")}
        move = HEADS.update().where(*at).values(moved)
        self._move = Prepared(move, dialect, ("l", "c", "s", "d"))
        expected = (HEADS.c.seq == sa.bindparam("was_s"), HEADS.c.digest == sa.bindparam("was_d"))
        move_from = HEADS.update().where(*at, *expected).values(moved)
        self._move_from = Prepared(move_from, dialect, ("l", "c", "s", "d", "was_s", "was_d"))
        self._linked = (
            Prepared(_LINK_IN_SQL, dialect, ("l", "c", "leaf"))
            if dialect.name == "postgresql"
            else None
        )
        """PostgreSQL moves the head in one statement whatever moved it last: it links the
        digest itself (its sha256() is SHA-256), under the head's row lock."""
        self._known: dict[tuple[str, str], Head] = {}
        """(ledger, chain) -> the head as this process last moved it: a guess, checked."""
        self._columns: dict[str, tuple[str, ...]] = {}

    def stamped(
        self, connection: Connection, table: sa.Table, row: Mapping[str, Any]
    ) -> tuple[dict[str, Any], Head]:
        """The row with its place and digest in its chain, the head moved on to it; and the
        head it moved from (for `put_back`)."""
        chain = _chain(table, row)
        columns = self._columns.get(table.name)
        if columns is None:
            columns = self._columns[table.name] = entry_columns(table)
        leaf = leaf_hash(entry(columns, row))
        if self._linked is not None:
            before, after = self._link_in_sql(connection, table.name, chain, leaf)
        else:
            before, after = self._link_here(connection, table.name, chain, leaf)
        stamped = {**row, CHAIN_SEQ_COLUMN: after.seq, CHAIN_DIGEST_COLUMN: spelled(after.digest)}
        return stamped, before

    def _link_here(
        self, connection: Connection, ledger: str, chain: str, leaf: bytes
    ) -> tuple[Head, Head]:
        """The head moved by a digest linked here: one statement when this process's view
        of the head is right, else the head taken as it stands, then moved."""
        where, key = {"l": ledger, "c": chain}, (ledger, chain)
        before = self._known.get(key)
        if before is not None:
            after = Head(before.seq + 1, link(before.digest, leaf))
            guessed = {**where, "was_s": before.seq, "was_d": spelled(before.digest)}
            if _run(self._move_from, connection, {**guessed, **_values(after)}) == 1:
                self._known[key] = after
                return before, after
        before = self._take_head(connection, ledger, chain)
        after = Head(before.seq + 1, link(before.digest, leaf))
        _run(self._move, connection, {**where, **_values(after)})
        self._known[key] = after
        return before, after

    def hold(self, connection: Connection, table: sa.Table, row: Mapping[str, Any]) -> None:
        """Take the head of the row's chain, locked until the transaction ends, before the
        row is decided on (a lifecycle's check): its `stamped` then moves it in one go."""
        chain = _chain(table, row)
        self._known[(table.name, chain)] = self._take_head(connection, table.name, chain)

    def _link_in_sql(
        self, connection: Connection, ledger: str, chain: str, leaf: bytes
    ) -> tuple[Head, Head]:
        linked = present(self._linked, "PostgreSQL's linking statement")
        for _ in range(2):  # the second time, after the chain's head is made
            cursor = linked.execute(connection, {"l": ledger, "c": chain, "leaf": leaf})
            try:
                found = cursor.fetchone()
            finally:
                cursor.close()
            if found is not None:
                seq, digest, old = found
                return Head(int(seq) - 1, _read(old)), Head(int(seq), _read(digest))
            self._take_head(connection, ledger, chain)
        raise BrokenInvariant(f"the head of {ledger}'s chain {chain} cannot be moved")

    def _take_head(self, connection: Connection, ledger: str, chain: str) -> Head:
        start = {"ledger": ledger, "chain": chain, "seq": 0}
        start["digest"] = spelled(genesis(ledger, chain))
        cursor = self._take.execute(connection, start)
        try:
            seq, digest = cursor.fetchone()
        finally:
            cursor.close()
        return Head(int(seq), _read(digest))

    def put_back(
        self, connection: Connection, table: sa.Table, row: Mapping[str, Any], before: Head
    ) -> None:
        """The head as it was before `stamped` moved it: its row was not inserted."""
        chain = _chain(table, row)
        _run(self._move, connection, {"l": table.name, "c": chain, **_values(before)})
        self._known[(table.name, chain)] = before


_LINK_IN_SQL = sa.text(
    "UPDATE ecm_chain_heads AS h SET seq = h.seq + 1, digest = 'sha256:' || "
    "encode(sha256(decode(substr(o.digest, 8), 'hex') || :leaf), 'hex') "
    "FROM (SELECT ledger, chain, digest FROM ecm_chain_heads "
    "WHERE ledger = :l AND chain = :c FOR UPDATE) AS o "
    "WHERE h.ledger = o.ledger AND h.chain = o.chain RETURNING h.seq, h.digest, o.digest"
).bindparams(sa.bindparam("leaf", type_=sa.LargeBinary()))
"""digest(n) = SHA-256(digest(n-1) || leaf), as `link` computes it, in one statement."""


def _chain(table: sa.Table, row: Mapping[str, Any]) -> str:
    """The chain a ledger row belongs to: its tenant's."""
    tenant = facts(table).tenant_column
    return chain_of(row.get(tenant) if tenant else None)


def _read(spelling: object) -> bytes:
    digest = parsed(spelling)
    if digest is None:
        raise BrokenInvariant(f"a chain head's digest is unreadable: {spelling!r}")
    return digest


def _run(statement: Prepared, connection: Connection, values: Mapping[str, Any]) -> int:
    """Run a statement that returns no rows; the rows it changed."""
    cursor = statement.execute(connection, values)
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _values(head: Head) -> dict[str, Any]:
    return {"s": head.seq, "d": spelled(head.digest)}
