"""The operations a capability binding can name: one class each, in a registry by name.

Each runs inside the caller's transaction (its connection) with the `Call`. Everything
engine-specific comes from the spec and the generated tables; the pieces they share are
`Storage`, the `AuditLog` and the `Projector`.
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
from ecm_runtime.call import Call
from ecm_runtime.errors import ContractViolation, ScopeViolation
from ecm_runtime.eventlog import EventLog
from ecm_runtime.facts import facts
from ecm_runtime.idempotency import Idempotency, held_row
from ecm_runtime.lifecycle import Lifecycles
from ecm_runtime.outcomes import Claim
from ecm_runtime.positions import after
from ecm_runtime.projection import Projector
from ecm_runtime.results import RowId, Written
from ecm_runtime.storage import Storage


@dataclass(frozen=True)
class Parts:
    """What the operations share."""

    storage: Storage
    audit: AuditLog
    projector: Projector
    logs: Mapping[str, EventLog]
    """Ledger name -> its event log: every ledger row is appended through one."""
    lifecycles: Lifecycles
    idempotency: Idempotency


class Operation:
    name: ClassVar[contract.Operation]

    def __init__(self, parts: Parts) -> None:
        self.storage, self.audit, self.projector = parts.storage, parts.audit, parts.projector
        self.logs, self.lifecycles = parts.logs, parts.lifecycles
        self.idempotency = parts.idempotency

    def run(self, connection: Connection, call: Call) -> object:  # pragma: no cover
        raise NotImplementedError  # every operation overrides it

    def table(self, call: Call) -> sa.Table:
        """The table the call's binding names."""
        return self.storage.tables[present(call.spec.table, f"{call.spec.id}: its table")]

    def written(
        self, connection: Connection, call: Call, claim: Claim | None, row_id: RowId
    ) -> Written:
        """A new row's ending: its audit row, its idempotency outcome, the answer."""
        reason = self.reason(call)
        self.audit.write(connection, call, reason)
        if claim is not None:
            self.idempotency.record_row(connection, call.spec, claim, row_id)
        return Written(row_id, False, reason)

    def reason(self, call: Call) -> str | None:
        """The reason code of a successful write: the input's, else the binding's."""
        given = call.values.get(REASON_FIELD)
        return given if isinstance(given, str) else call.spec.success_reason_code


class AuditAppend(Operation):
    """The input is itself an audit event: append it to the audit log."""

    name = contract.Operation.AUDIT_APPEND

    def run(self, connection: Connection, call: Call) -> Written:
        log = present(self.audit.log, f"{call.spec.id}: the audit log")
        reason = call.values.get(REASON_FIELD)
        row = self.audit.envelope(call, reason, own_row=True)
        event = log.append(connection, row)
        if event is not None:
            return Written(event.sequence, False, row[AuditColumn.REASON_CODE])
        # The time of an attempt is the runtime's, unless the input gives it.
        given = call.values.get(CLOCK_FIELD) is not None
        clock = frozenset() if given else frozenset({AuditColumn.CREATED_AT})
        idempotency = self.idempotency
        original = idempotency.original(connection, call.spec, log.table, row, clock_columns=clock)
        return self.idempotency.replayed(call.spec, original[log.sequence.name])


class Append(Operation):
    """A new ledger row, its projection and its audit row."""

    name = contract.Operation.APPEND

    def run(self, connection: Connection, call: Call) -> Written:
        table, storage = self.table(call), self.storage
        row = storage.row(call, table)
        claim = None
        if not facts(table).keyed_by_idempotency:
            claim = self.idempotency.claim_row(connection, call, table, row, ())
            if claim is not None and claim.replay is not None:
                return self.idempotency.replayed(call.spec, claim.replay)
        lifecycle = self.lifecycles.governing.get(table.name)
        if lifecycle is not None:
            # A row of a governed ledger is a transition, whoever appends it.
            step = self.lifecycles.step_written(call.spec, lifecycle, row)
            self.lifecycles.lock(connection, lifecycle, row)
            if held_row(connection, table, row) is None:
                self.lifecycles.check(connection, call.spec, lifecycle, step, row)
        event = self.logs[table.name].append(connection, row)
        if event is None:
            original = self.idempotency.original(connection, call.spec, table, row)
            return self.idempotency.replayed(call.spec, original[facts(table).numbered])
        return self.written(connection, call, claim, event.sequence)


class Upsert(Operation):
    """A CURRENT or CACHE row inserted or replaced under its key, idempotent per key."""

    name = contract.Operation.UPSERT

    def run(self, connection: Connection, call: Call) -> Written:
        table, storage, spec = self.table(call), self.storage, call.spec
        row = storage.row(call, table)
        primary_key = tuple(c.name for c in table.primary_key.columns)
        key = list(contract.upsert_key(spec.lookup, primary_key, facts(table).tenant_column))
        claim = self.idempotency.claim_row(connection, call, table, row, key)
        if claim is not None and claim.replay is not None:
            return self.idempotency.replayed(spec, claim.replay)
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
        written = connection.execute(statement, row).first()
        if written is None:
            storage.refusals.refuse(
                spec,
                Role.SCOPE_VIOLATION,
                ScopeViolation,
                f"{spec.id}: the row with this key in {table.name} belongs to another tenant",
            )
        row_id = written[0] if len(written) == 1 else tuple(written)
        return self.written(connection, call, claim, row_id)


class Transition(Operation):
    """A lifecycle action: allowed from the subject's state, appended to its ledger, projected."""

    name = contract.Operation.TRANSITION

    def run(self, connection: Connection, call: Call) -> BaseModel:
        ledger, storage, spec = self.table(call), self.storage, call.spec
        model = present(spec.output_model, f"{spec.id}: a lifecycle action's record")
        lifecycle, step = self.lifecycles.step_of(spec)
        row = storage.row(call, ledger)
        row[lifecycle.action_column] = step.action
        row[lifecycle.state_column] = step.to_state
        if REASON_FIELD in ledger.c and step.reason_code is not None:
            row[REASON_FIELD] = step.reason_code
        # The subject's lock first: a concurrent first call with the same key then finds this
        # call's row and replays, instead of finding its state moved on.
        self.lifecycles.lock(connection, lifecycle, row)
        if held_row(connection, ledger, row) is not None:
            original = self.idempotency.original(connection, spec, ledger, row)
            return build(model, {**original, REPLAYED_FIELD: True})
        self.lifecycles.check(connection, spec, lifecycle, step, row)
        event = self.logs[ledger.name].append(connection, row)
        if event is None:
            original = self.idempotency.original(connection, spec, ledger, row)
            return build(model, {**original, REPLAYED_FIELD: True})
        self.audit.write(connection, call, step.reason_code)
        return build(model, {**event.row, REPLAYED_FIELD: False})


class Rebuild(Operation):
    """The caller's tenant's rows of a CURRENT table, rebuilt from its ledger."""

    name = contract.Operation.REBUILD

    def run(self, connection: Connection, call: Call) -> None:
        self.projector.rebuild(connection, self.table(call), call.ctx.tenant_id)


class Read(Operation):
    """Rows of a table: by lookup columns, in the caller's tenant, alive (CACHE), in order."""

    def rows(self, connection: Connection, call: Call) -> list[dict[str, Any]]:
        table, spec, values = self.table(call), call.spec, call.values
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
                query = after(connection, table, table.c[column], query, since)
                logged = True
            elif values.get(field) is not None:
                query = query.where(table.c[column] > values[field])
        if not logged:
            order = spec.order_by or tuple(c.name for c in table.primary_key.columns)
            query = query.order_by(*(table.c[c] for c in order))
        if spec.limit and values.get(spec.limit) is not None:
            query = query.limit(values[spec.limit])
        return [dict(row) for row in connection.execute(query).mappings()]

    def model(self, call: Call) -> type[BaseModel]:
        return present(call.spec.output_model, f"{call.spec.id}: the record a read returns")


class ReadOne(Read):
    name = contract.Operation.READ_ONE

    def run(self, connection: Connection, call: Call) -> BaseModel | None:
        rows = self.rows(connection, call)
        return build(self.model(call), rows[0]) if rows else None


class ReadMany(Read):
    name = contract.Operation.READ_MANY

    def run(self, connection: Connection, call: Call) -> tuple[BaseModel, ...]:
        model = self.model(call)
        return tuple(build(model, row) for row in self.rows(connection, call))


class ReadMap(Read):
    name = contract.Operation.READ_MAP

    def run(self, connection: Connection, call: Call) -> dict[tuple[object, ...], BaseModel]:
        model, key = self.model(call), call.spec.map_key
        rows = self.rows(connection, call)
        return {tuple(row[k] for k in key): build(model, row) for row in rows}


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

    def __init__(self, parts: Parts) -> None:
        self.storage = parts.storage
        self.registry: dict[str, Operation] = {op.name: op(parts) for op in OPERATIONS}

    def run(self, connection: Connection, call: Call) -> object:
        spec = call.spec
        operation = self.registry.get(spec.operation or "")
        if operation is None:
            self.storage.refusals.refuse(
                spec,
                Role.CONTRACT_VALIDATION,
                ContractViolation,
                f"{spec.id} has no storage operation the runtime knows ({spec.operation})",
            )
        table = self.storage.tables[spec.table] if spec.table else None
        self.storage.check_tenant(call, table)
        return operation.run(connection, call)


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
