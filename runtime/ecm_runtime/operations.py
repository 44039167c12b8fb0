"""The operations a capability binding can name: one class each, in a registry by name.

Each runs inside the caller's transaction with a `Call` (the connection, the context, the
spec, the validated input). Everything engine-specific comes from the spec and the generated
tables; the pieces they share are `Storage`, the `AuditLog` and the `Projector`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import ecm_contract as contract
import sqlalchemy as sa
from ecm_contract import CLOCK_FIELD, REASON_FIELD, REPLAYED_FIELD, AuditColumn, Role, TruthType
from ecm_contract.invariants import present
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from ecm_runtime.audit_log import AuditLog
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext
from ecm_runtime.errors import ContractViolation, ScopeViolation
from ecm_runtime.eventlog import EventLog
from ecm_runtime.facts import facts
from ecm_runtime.idempotency import Claim
from ecm_runtime.lifecycle import Lifecycles
from ecm_runtime.positions import after
from ecm_runtime.projection import Projector
from ecm_runtime.results import RowId, Written
from ecm_runtime.storage import Storage


@dataclass(frozen=True, slots=True)
class Call:
    connection: Connection
    ctx: CallContext
    spec: CapabilitySpec
    payload: BaseModel
    values: Mapping[str, Any]
    """The input by its spec names."""
    now: int
    table: sa.Table | None

    @property
    def target(self) -> sa.Table:
        return present(self.table, f"{self.spec.id}: its binding's table")


class Operation:
    name: ClassVar[contract.Operation]

    def __init__(
        self,
        storage: Storage,
        audit: AuditLog,
        projector: Projector,
        logs: Mapping[str, EventLog],
        lifecycles: Lifecycles,
    ) -> None:
        self.storage = storage
        self.audit = audit
        self.projector = projector
        self.logs = logs
        """Ledger name -> its event log: every ledger row is appended through one."""
        self.lifecycles = lifecycles

    def run(self, call: Call) -> object:  # pragma: no cover - every operation overrides it
        raise NotImplementedError

    def claim(self, call: Call, row: Mapping[str, Any], key: list[str]) -> Claim | None:
        """The call's idempotency claim (docs/runtime-contracts.md), None without a key."""
        return self.storage.claim(
            call.connection, call.ctx, call.spec, call.values, call.now, call.target, row, key
        )

    def written(self, call: Call, claim: Claim | None, row_id: RowId) -> Written:
        """A new row's ending: its audit row, its idempotency outcome, the answer."""
        reason = self.reason(call)
        self.audit.write(call.connection, call.ctx, call.spec, call.values, call.now, reason)
        if claim is not None:
            self.storage.outcomes.record(call.connection, claim, row_id)
        return Written(row_id, False, reason)

    def reason(self, call: Call) -> str | None:
        """The reason code of a successful write: the input's, else the binding's."""
        given = call.values.get(REASON_FIELD)
        return given if isinstance(given, str) else call.spec.success_reason_code


class AuditAppend(Operation):
    """The input is itself an audit event: append it to the audit log."""

    name = contract.Operation.AUDIT_APPEND

    def run(self, call: Call) -> Written:
        log = present(self.audit.log, f"{call.spec.id}: the audit log")
        reason = call.values.get(REASON_FIELD)
        row = self.audit.envelope(call.ctx, call.spec, call.values, call.now, reason, own_row=True)
        event = log.append(call.connection, row)
        if event is not None:
            return Written(event.sequence, False, row[AuditColumn.REASON_CODE])
        # The time of an attempt is the runtime's, unless the input gives it.
        given = call.values.get(CLOCK_FIELD) is not None
        clock = frozenset() if given else frozenset({AuditColumn.CREATED_AT})
        original = self.storage.original(
            call.connection, call.spec, log.table, row, clock_columns=clock
        )
        return self.storage.replayed(call.spec, original[log.sequence.name])


class Append(Operation):
    """A new ledger row, its projection and its audit row."""

    name = contract.Operation.APPEND

    def run(self, call: Call) -> Written:
        table, storage = call.target, self.storage
        row = storage.row(call.ctx, call.spec, call.values, table)
        claim = None
        if not facts(table).keyed_by_idempotency:
            claim = storage.claim(
                call.connection, call.ctx, call.spec, call.values, call.now, table, row, ()
            )
            if claim is not None and claim.replay is not None:
                return storage.replayed(call.spec, claim.replay)
        lifecycle = self.lifecycles.governing.get(table.name)
        if lifecycle is not None:
            # A row of a governed ledger is a transition, whoever appends it.
            step = self.lifecycles.step_written(call.spec, lifecycle, row)
            self.lifecycles.lock(call.connection, lifecycle, row)
            if storage.replay_of(call.connection, table, row) is None:
                self.lifecycles.check(call.connection, call.spec, lifecycle, step, row)
        event = self.logs[table.name].append(call.connection, row)
        if event is None:
            original = storage.original(call.connection, call.spec, table, row)
            return storage.replayed(call.spec, original[facts(table).numbered])
        return self.written(call, claim, event.sequence)


class Upsert(Operation):
    """A CURRENT or CACHE row inserted or replaced under its key, idempotent per key."""

    name = contract.Operation.UPSERT

    def run(self, call: Call) -> Written:
        table, storage, spec = call.target, self.storage, call.spec
        row = storage.row(call.ctx, spec, call.values, table)
        primary_key = tuple(c.name for c in table.primary_key.columns)
        key = list(contract.upsert_key(spec.lookup, primary_key, facts(table).tenant_column))
        claim = storage.claim(
            call.connection, call.ctx, spec, call.values, call.now, table, row, key
        )
        if claim is not None and claim.replay is not None:
            return storage.replayed(spec, claim.replay)
        returned = _row_id_columns(table)
        tenant = facts(table).tenant_column
        system_row = tenant is not None and row.get(tenant) is None
        statement = storage.statement(
            "upsert_returning_system" if system_row else "upsert_returning",
            table,
            tuple(row),
            lambda: storage.upsert_statement(table, key, row, guard_tenant=True).returning(
                *returned
            ),
        )
        written = call.connection.execute(statement, row).first()
        if written is None:
            storage.refusals.refuse(
                spec,
                Role.SCOPE_VIOLATION,
                ScopeViolation,
                f"{spec.id}: the row with this key in {table.name} belongs to another tenant",
            )
        return self.written(call, claim, written[0] if len(written) == 1 else tuple(written))


class Transition(Operation):
    """A lifecycle action: allowed from the subject's state, appended to its ledger, projected."""

    name = contract.Operation.TRANSITION

    def run(self, call: Call) -> BaseModel:
        ledger, storage, spec = call.target, self.storage, call.spec
        model = present(spec.output_model, f"{spec.id}: a lifecycle action's record")
        lifecycle, step = self.lifecycles.step_of(spec)
        row = storage.row(call.ctx, spec, call.values, ledger)
        row[lifecycle.action_column] = step.action
        row[lifecycle.state_column] = step.to_state
        if REASON_FIELD in ledger.c and step.reason_code is not None:
            row[REASON_FIELD] = step.reason_code
        # The subject's lock first: a concurrent first call with the same key then finds this
        # call's row and replays, instead of finding its state moved on.
        self.lifecycles.lock(call.connection, lifecycle, row)
        if storage.replay_of(call.connection, ledger, row) is not None:
            original = storage.original(call.connection, spec, ledger, row)
            return build(model, {**original, REPLAYED_FIELD: True})
        self.lifecycles.check(call.connection, spec, lifecycle, step, row)
        event = self.logs[ledger.name].append(call.connection, row)
        if event is None:
            original = storage.original(call.connection, spec, ledger, row)
            return build(model, {**original, REPLAYED_FIELD: True})
        self.audit.write(call.connection, call.ctx, spec, call.values, call.now, step.reason_code)
        return build(model, {**event.row, REPLAYED_FIELD: False})


class Rebuild(Operation):
    """The caller's tenant's rows of a CURRENT table, rebuilt from its ledger."""

    name = contract.Operation.REBUILD

    def run(self, call: Call) -> None:
        self.projector.rebuild(call.connection, call.target, call.ctx.tenant_id)


class Read(Operation):
    """Rows of a table: by lookup columns, in the caller's tenant, alive (CACHE), in order."""

    def rows(self, call: Call) -> list[dict[str, Any]]:
        table, spec, values = call.target, call.spec, call.values
        query = sa.select(table)
        for column in spec.lookup:
            query = query.where(table.c[column] == values.get(column))
        tenant = facts(table).tenant_column
        if tenant:
            query = query.where(table.c[tenant] == call.ctx.tenant_id)
        if spec.engine_column:
            query = query.where(table.c[spec.engine_column] == spec.engine_id)
        ttl = facts(table).ttl_column
        if ttl:
            query = query.where(table.c[ttl] > self.storage.clock())
        logged = False
        for column, field in spec.cursor:
            if _is_sequence(table, column):
                # A cursor on a ledger's sequence pages the log: positions.py.
                given = values.get(field)
                since = given if isinstance(given, int) else 0
                query = after(call.connection, table, table.c[column], query, since)
                logged = True
            elif values.get(field) is not None:
                query = query.where(table.c[column] > values[field])
        if not logged:
            order = spec.order_by or tuple(c.name for c in table.primary_key.columns)
            query = query.order_by(*(table.c[c] for c in order))
        if spec.limit and values.get(spec.limit) is not None:
            query = query.limit(values[spec.limit])
        return [dict(row) for row in call.connection.execute(query).mappings()]

    def model(self, call: Call) -> type[BaseModel]:
        return present(call.spec.output_model, f"{call.spec.id}: the record a read returns")


class ReadOne(Read):
    name = contract.Operation.READ_ONE

    def run(self, call: Call) -> BaseModel | None:
        rows = self.rows(call)
        return build(self.model(call), rows[0]) if rows else None


class ReadMany(Read):
    name = contract.Operation.READ_MANY

    def run(self, call: Call) -> tuple[BaseModel, ...]:
        model = self.model(call)
        return tuple(build(model, row) for row in self.rows(call))


class ReadMap(Read):
    name = contract.Operation.READ_MAP

    def run(self, call: Call) -> dict[tuple[object, ...], BaseModel]:
        model, key = self.model(call), call.spec.map_key
        return {tuple(row[k] for k in key): build(model, row) for row in self.rows(call)}


OPERATIONS: tuple[type[Operation], ...] = (
    AuditAppend,
    Append,
    Upsert,
    Transition,
    Rebuild,
    ReadOne,
    ReadMany,
    ReadMap,
)


class Operations:
    """The registry: an operation's name -> the object that runs it."""

    def __init__(
        self,
        storage: Storage,
        audit: AuditLog,
        projector: Projector,
        logs: Mapping[str, EventLog],
        lifecycles: Lifecycles,
    ) -> None:
        self.storage = storage
        self.registry: dict[str, Operation] = {
            op.name: op(storage, audit, projector, logs, lifecycles) for op in OPERATIONS
        }

    def run(
        self, connection: Connection, ctx: CallContext, spec: CapabilitySpec, payload: BaseModel
    ) -> object:
        operation = self.registry.get(spec.operation or "")
        if operation is None:
            self.storage.refusals.refuse(
                spec,
                Role.CONTRACT_VALIDATION,
                ContractViolation,
                f"{spec.id} has no storage operation the runtime knows ({spec.operation})",
            )
        values = payload.model_dump(by_alias=True)
        table = self.storage.tables[spec.table] if spec.table else None
        self.storage.check_tenant(ctx, spec, values, table)
        given = values.get(CLOCK_FIELD)
        now = given if isinstance(given, int) else self.storage.clock()
        return operation.run(Call(connection, ctx, spec, payload, values, now, table))


def _is_sequence(table: sa.Table, column: str) -> bool:
    return facts(table).truth_type is TruthType.LEDGER and column == facts(table).identity


def _row_id_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """What names a written row to its writer: its identity, else its primary key but for the
    tenant column (the writer's own tenant, which it knows)."""
    if facts(table).identity:
        return [table.c[facts(table).numbered]]
    key = list(table.primary_key.columns)
    tenant = facts(table).tenant_column
    return [c for c in key if c.name != tenant] or key


def build(model: type[BaseModel], data: Mapping[str, Any]) -> BaseModel:
    """A record from a row: the fields the record declares, by their spec names."""
    names = {info.alias or name for name, info in model.model_fields.items()}
    return model.model_validate({key: value for key, value in data.items() if key in names})
