"""Lifecycles hold on every write to the ledger they govern: a row appended to such a ledger,
by a lifecycle action or by a plain append, is a legal transition from its subject's current
state, decided under a lock on the subject.

Which transition a capability runs is its lifecycle's own mapping (each action names its
capability in the wiring): never something its input says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from ecm_contract import Role
from ecm_contract.catalog import Lifecycle, Transition
from ecm_contract.invariants import present
from sqlalchemy.engine import Connection

from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.chain import Chains
from ecm_runtime.errors import ContractViolation, TransitionInvalid
from ecm_runtime.refusals import Refusals


class Lifecycles:
    def __init__(
        self,
        specs: Iterable[CapabilitySpec],
        tables: Mapping[str, sa.Table],
        refusals: Refusals,
        chains: Chains,
    ) -> None:
        self.tables, self.refusals, self.chains = tables, refusals, chains
        self.governing: dict[str, Lifecycle] = {
            spec.lifecycle.ledger: spec.lifecycle
            for spec in specs
            if spec.lifecycle is not None and spec.lifecycle.ledger is not None
        }
        """Ledger name -> the lifecycle that governs its rows."""

    def step_of(self, spec: CapabilitySpec) -> tuple[Lifecycle, Transition]:
        """The transition a lifecycle capability runs, by the lifecycle's own mapping."""
        lifecycle = spec.lifecycle
        step = lifecycle.step_of(spec.id) if lifecycle is not None else None
        if lifecycle is None or step is None:
            self.refusals.refuse(
                spec,
                Role.CONTRACT_VALIDATION,
                ContractViolation,
                f"{spec.id}: no action of its lifecycle names this capability",
            )
        return lifecycle, step

    def step_written(
        self, spec: CapabilitySpec, lifecycle: Lifecycle, row: Mapping[str, Any]
    ) -> Transition:
        """The transition a row written straight to a governed ledger states: one of the
        lifecycle's actions, with that action's resulting state."""
        action = row.get(lifecycle.action_column)
        step = lifecycle.transition(action) if isinstance(action, str) else None
        if step is None:
            self.refusals.refuse(
                spec,
                Role.CONTRACT_VALIDATION,
                ContractViolation,
                f"{spec.id}: {action!r} is not an action of lifecycle {lifecycle.name}",
            )
        state = row.get(lifecycle.state_column)
        if state != step.to_state:
            self.refusals.refuse(
                spec,
                Role.TRANSITION_INVALID,
                TransitionInvalid,
                f"{spec.id}: {step.action} leads to {step.to_state}, not {state!r}",
            )
        return step

    def lock(self, connection: Connection, lifecycle: Lifecycle, row: Mapping[str, Any]) -> None:
        """One transition per subject at a time, its first included (when the subject has no
        row to lock yet): the writer takes the head of its ledger's chain for the subject's
        tenant (chain.py), a row lock every append to that chain takes anyway, held until
        its transaction ends. A row lock, not an advisory one: it carries over to
        distributed PostgreSQL engines. (SQLite needs nothing: its writers hold the database
        lock from BEGIN.)"""
        if connection.dialect.name != "postgresql":
            return
        ledger = self.tables[present(lifecycle.ledger, f"lifecycle {lifecycle.name}'s ledger")]
        self.chains.hold(connection, ledger, row)

    def check(
        self,
        connection: Connection,
        spec: CapabilitySpec,
        lifecycle: Lifecycle,
        step: Transition,
        row: Mapping[str, Any],
    ) -> None:
        """Refuse a transition its subject's current state does not allow (call under the
        subject's lock)."""
        current = self._current(lifecycle)
        key = [c.name for c in current.primary_key.columns]
        present = sa.and_(*(current.c[k] == row.get(k) for k in key))
        query = sa.select(current.c[lifecycle.state_column]).where(present)
        state = connection.execute(query).scalar()
        allowed = state in step.from_states if state is not None else not step.from_states
        if not allowed:
            self.refusals.refuse(
                spec,
                Role.TRANSITION_INVALID,
                TransitionInvalid,
                f"{spec.id}: {step.action} is not allowed from {state or 'nothing'} "
                f"(allowed from: {', '.join(step.from_states) or 'nothing'})",
            )

    def _current(self, lifecycle: Lifecycle) -> sa.Table:
        return self.tables[
            present(lifecycle.current, f"lifecycle {lifecycle.name}'s current table")
        ]
