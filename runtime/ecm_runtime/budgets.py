"""Budgets counted at the database: a unit is spent by one statement that adds it only while
the count is under the budget, so concurrent spenders never pass it (both backends lock the
counter's row for the update)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ecm_runtime.canonical import digest
from ecm_runtime.outcomes import metadata

BUDGETS = sa.Table(
    "ecm_budgets",
    metadata,
    sa.Column("scope_digest", sa.String(64), primary_key=True),
    sa.Column("used", sa.BigInteger(), nullable=False),
    comment="Units spent of each budget (ecm_runtime): a tool budget per correlation thread.",
)


class Budgets:
    def __init__(self, insert: Callable[[sa.Table], Any]) -> None:
        spend = insert(BUDGETS).values(scope_digest=sa.bindparam("scope_digest"), used=1)
        self._spend = spend.on_conflict_do_update(
            index_elements=[BUDGETS.c.scope_digest],
            set_={"used": BUDGETS.c.used + 1},
            where=BUDGETS.c.used < sa.bindparam("budget"),
        ).returning(BUDGETS.c.used)

    def spend(self, connection: Connection, scope: Sequence[object], budget: int) -> bool:
        """Spend one unit of the budget of `scope`; False when it is spent already."""
        if budget <= 0:
            return False
        found = connection.execute(
            self._spend, {"scope_digest": digest(list(scope)), "budget": budget}
        ).first()
        return found is not None
