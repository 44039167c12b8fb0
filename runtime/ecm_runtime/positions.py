"""Where a reader of a ledger stands: a cursor that only moves past rows no later commit can
precede, so a reader that pages with its last row's sequence number gets every row exactly
once, in one order, however long the writers' transactions are.

SQLite has one writer at a time, which takes its sequence numbers inside its write lock:
rows commit in sequence order, and the sequence is the position.

PostgreSQL assigns sequence numbers at insert and commits transactions in any order, so a
reader at sequence 10 would skip a row numbered 9 that commits after 10 did. Each ledger row
therefore carries the id of the transaction that inserted it (POSITION_COLUMN, set by the
ledger's guard trigger), and a row's position is (transaction id, sequence). A reader sees
only rows of transactions older than its snapshot's xmin, the oldest transaction still
running: every such transaction has ended, so no row can later appear before them. A cursor
(the sequence number of the last row read) stands at that row's position, which the
database still knows.

What this costs: a row is read once every transaction older than it has ended, so one long
transaction anywhere holds the reader back (never makes it skip). It assumes one PostgreSQL
server's transaction ids (a distributed engine would need positions per tenant).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from ecm_contract import POSITION_COLUMN
from sqlalchemy.engine import Connection

HORIZON: sa.ColumnClause[Any] = sa.literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
)
"""The oldest transaction still running, as of the statement's snapshot."""


def after(
    connection: Connection, table: sa.Table, sequence: sa.Column[Any], query: Any, since: int
) -> Any:
    """`query` (rows of `table`, without an order) kept to rows after the cursor `since` and
    put in the log's order."""
    if connection.dialect.name != "postgresql":
        return query.where(sequence > since).order_by(sequence)
    position = table.c[POSITION_COLUMN]
    at = None
    if since > 0:
        # The cursor's own row (or the last one of this scope before it): where it stands.
        cursor = query.with_only_columns(position, sequence).where(sequence <= since)
        at = connection.execute(cursor.order_by(sequence.desc()).limit(1)).first()
    query = query.where(position < HORIZON)
    if at is not None:
        query = query.where(sa.tuple_(position, sequence) > sa.tuple_(at[0], at[1]))
    return query.order_by(position, sequence)
