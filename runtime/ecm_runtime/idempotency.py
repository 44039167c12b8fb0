"""Idempotency: one rule for every call that takes an idempotency key.

A retry (the same key, the same capability, the same input) answers with its first call's
outcome and writes nothing; a key reused for another call is refused with the spec's
IDEMPOTENCY_REPLAY code, never replayed. Where that outcome is kept depends on the write,
and nowhere else:

- a row whose table declares a unique key holding the idempotency key (a ledger's) is its own
  claim: the insert that finds the key taken *is* the claim's answer, and the row it finds is
  the first call's outcome (`original`, compared column by column);
- every other keyed call (upserts, whose row takes many writes; appends to tables without an
  idempotency key; handlers and tool queries) claims its key in the outcomes table
  (outcomes.py) in its own transaction, so the claim commits with what the call wrote, or
  not at all;
- a call that runs outside any transaction (a provider or handler call) commits its claim
  first, as *pending* (`once`): a concurrent call with the key waits for the outcome, a
  failed call releases the claim, and one left pending past its lease is taken over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import sqlalchemy as sa
from ecm_contract import IDEMPOTENCY_FIELD, Role
from sqlalchemy.engine import Connection

from ecm_runtime.call import Call
from ecm_runtime.canonical import digest
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.errors import ContractViolation, IdempotencyConflict
from ecm_runtime.facts import facts
from ecm_runtime.outcomes import OUTCOMES, Claim, ClaimState, KeyedCall, Outcomes
from ecm_runtime.refusals import Refusals
from ecm_runtime.results import RowId, Written
from ecm_runtime.transactions import Transactions

T = TypeVar("T")

CLAIM_LEASE_MS = 300_000
"""How long a pending claim holds its key before another call may take it over: longer than
any call a provider or handler is given (their timeouts are seconds)."""

_POLL_SECONDS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
"""The waits of a call whose key a running call holds, growing to the last."""


class Idempotency:
    def __init__(
        self,
        insert: Callable[[sa.Table], Any],
        refusals: Refusals,
        clock: Callable[[], int],
        transactions: Transactions,
    ) -> None:
        self.outcomes = Outcomes(OUTCOMES, insert)
        self.refusals, self.clock, self.transactions = refusals, clock, transactions

    # --- a row that holds its own key ---------------------------------------------------

    def original(
        self,
        connection: Connection,
        spec: CapabilitySpec,
        table: sa.Table,
        row: Mapping[str, Any],
        *,
        clock_columns: frozenset[str] = frozenset(),
    ) -> Mapping[str, Any]:
        """A write that inserted nothing: the caller's own earlier row under the same
        idempotency key, which must be the row this call would have written (but for
        `clock_columns`, the runtime's time of each attempt); else a refusal. Every key is
        its tenant's own (ECM074), so no other tenant's row is ever found."""
        original = held_row(connection, table, row)
        if original is None:
            self.refusals.refuse(
                spec,
                Role.CONTRACT_VALIDATION,
                ContractViolation,
                f"{spec.id}: a row with the same unique key already exists in {table.name}",
            )
        identity = facts(table).identity
        differs = sorted(
            column
            for column, value in row.items()
            if column != identity and column not in clock_columns and original.get(column) != value
        )
        if differs:
            self.conflict(spec, f"its first call wrote other values of {', '.join(differs)}")
        return original

    # --- a claim in the outcomes table --------------------------------------------------

    def keyed(self, call: Call, scope: Sequence[object]) -> KeyedCall | None:
        """The call under its idempotency key, within `scope`; None: it has no key."""
        key = call.values.get(IDEMPOTENCY_FIELD)
        if key is None:
            return None
        scope = tuple(scope)
        return KeyedCall(call.spec.id, call.ctx.tenant_id, scope, str(key), digest(call.values))

    def claim_row(
        self,
        connection: Connection,
        call: Call,
        table: sa.Table,
        row: Mapping[str, Any],
        key: Sequence[str],
    ) -> Claim | None:
        """Claim the call's key in the table's scope of the row (its declared idempotency
        key's columns, else the columns the write is keyed by); None: no key."""
        declared = next(iter(facts(table).idempotency_keys), ())
        columns = [c for c in declared if c != IDEMPOTENCY_FIELD] or list(key)
        keyed = self.keyed(call, [table.name, *(row.get(c) for c in columns)])
        return None if keyed is None else self.claim(connection, call.spec, keyed, call.now)

    def claim(
        self,
        connection: Connection,
        spec: CapabilitySpec,
        keyed: KeyedCall,
        now: int,
        *,
        pending_ok: bool = False,
    ) -> Claim:
        """Claim a key. In the call's own transaction the claim commits with the call, so no
        other call sees it pending (a concurrent one waits at the database, then replays);
        only a call that runs apart (`pending_ok`) meets a pending claim."""
        claim = self.outcomes.claim(connection, keyed, now)
        if claim.state is ClaimState.CONFLICT:
            self.conflict(spec, "another capability or another input")
        if claim.state is ClaimState.PENDING and not pending_ok:
            self.conflict(spec, "a call still running outside a transaction")
        return claim

    def record(
        self, connection: Connection, spec: CapabilitySpec, claim: Claim, outcome: Mapping[str, Any]
    ) -> None:
        """A call's outcome, for its retries; refused when its claim passed its lease and
        another call took the key over (that call's outcome is the key's)."""
        if not self.outcomes.record_outcome(connection, claim, outcome):
            self.conflict(spec, "the call outlived its claim, which another call took over")

    def record_row(
        self, connection: Connection, spec: CapabilitySpec, claim: Claim, row_id: RowId
    ) -> None:
        stored = list(row_id) if isinstance(row_id, tuple) else row_id
        self.record(connection, spec, claim, {"id": stored})

    def once(
        self,
        spec: CapabilitySpec,
        keyed: KeyedCall | None,
        run: Callable[[Claim | None], T],
        replay: Callable[[Claim], T],
    ) -> T:
        """Run a call that works outside the runtime's transaction exactly once per key: its
        claim commits first, as pending; a call that fails releases it. `run` records the
        outcome in the transaction that writes the call's audit row."""
        if keyed is None:
            return run(None)
        claim = self._claim_apart(spec, keyed)
        if claim.state is ClaimState.REPLAY:
            return replay(claim)
        try:
            return run(claim)
        except BaseException:
            with self.transactions.begin(read_only=False, spec=spec) as connection:
                self.outcomes.release(connection, claim)
            raise

    def _claim_apart(self, spec: CapabilitySpec, keyed: KeyedCall) -> Claim:
        """This call's claim on its key (FIRST), or the finished first call's (REPLAY)."""
        waits = iter(_POLL_SECONDS)
        while True:
            with self.transactions.begin(read_only=False, spec=spec) as connection:
                claim = self.claim(connection, spec, keyed, self.clock(), pending_ok=True)
                expired = self.clock() - claim.claimed_at > CLAIM_LEASE_MS
                if claim.state is ClaimState.PENDING and expired:
                    claim = self.outcomes.take_over(connection, claim, self.clock()) or claim
            if claim.state is not ClaimState.PENDING:
                return claim
            time.sleep(next(waits, _POLL_SECONDS[-1]))

    # --- the answers ----------------------------------------------------------------------

    def conflict(self, spec: CapabilitySpec, why: str) -> NoReturn:
        """A used idempotency key, reused for another call: refused, never replayed."""
        self.refusals.refuse(
            spec,
            Role.IDEMPOTENCY_REPLAY,
            IdempotencyConflict,
            f"{spec.id}: the idempotency key names another call ({why}); a retry repeats its "
            "call exactly, and a new call needs a new key",
        )

    def replayed(self, spec: CapabilitySpec, row_id: RowId) -> Written:
        return Written(row_id, True, self.refusals.code(spec, Role.IDEMPOTENCY_REPLAY))


def held_row(
    connection: Connection, table: sa.Table, row: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The row that holds this row's complete idempotency key, if one does (a row of no
    tenant is the system scope's: its NULL tenant is a value of the key)."""
    tenant = facts(table).tenant_column
    for key in facts(table).idempotency_keys:
        if all(row.get(column) is not None for column in key if column != tenant):
            condition = sa.and_(*(table.c[column] == row[column] for column in key))
            found = connection.execute(sa.select(table).where(condition)).mappings().first()
            if found is not None:
                return dict(found)
    return None
