"""The operations a capability binding can name, run inside the caller's transaction.

Everything engine-specific comes from the spec: the table, lookup columns, fills, the audit
event type and payload, idempotency keys and tenant column (table info), the lifecycle. The
audit log is the table the catalog's `audit_append` capabilities write to; its columns are the
audit envelope of DESIGN §6.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ecm_runtime.audit import EventTypes, digest, unknown_keys
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CONTEXT_FIELDS, CallContext
from ecm_runtime.errors import ContractViolation, ScopeViolation, TransitionInvalid
from ecm_runtime.idempotency import OUTCOMES, Claim, Outcomes
from ecm_runtime.results import RowId, Written

if TYPE_CHECKING:
    from ecm_runtime.runtime import Runtime

DIGEST = "DIGEST"
_SUBJECT_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:subject, 0))")
DEFAULT_SEVERITY = "INFO"
REBUILD_BATCH = 500


class Operations:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.tables = runtime.metadata.tables
        audit_tables = {
            c.table for c in runtime.capabilities.values() if c.operation == "audit_append"
        }
        if len(audit_tables) > 1:
            raise ValueError(f"audit_append capabilities write to several tables: {audit_tables}")
        audit_table = audit_tables.pop() if audit_tables else None
        self.audit_table = self.tables[audit_table] if audit_table else None
        self.event_types = EventTypes(runtime.event_types, runtime.capabilities.values())
        self._statements: dict[tuple[str, str, tuple[str, ...]], Any] = {}
        self._insert = (
            postgresql.insert if runtime.engine.dialect.name == "postgresql" else sqlite.insert
        )
        self.outcomes = Outcomes(OUTCOMES, self._insert)
        self.projections = {
            t.info["projection_of"]: t for t in self.tables.values() if t.info.get("projection_of")
        }

    def run(
        self, connection: Connection, ctx: CallContext, spec: CapabilitySpec, payload: BaseModel
    ) -> object:
        values = payload.model_dump(by_alias=True)
        table = self.tables[spec.table] if spec.table else None
        self._check_tenant(ctx, spec, values, table)
        given = values.get("now")
        now = given if isinstance(given, int) else self.runtime.clock()
        operation = spec.operation
        if operation == "audit_append":
            return self._audit_append(connection, ctx, spec, values, now)
        assert table is not None
        if operation == "append":
            return self._append(connection, ctx, spec, values, now, table)
        if operation == "upsert":
            return self._upsert(connection, ctx, spec, values, now, table)
        if operation == "transition":
            return self._transition(connection, ctx, spec, payload, values, now, table)
        if operation == "rebuild":
            self._rebuild(connection, ctx, table)
            return None
        query = self._select(ctx, spec, values, table)
        rows = [dict(row) for row in connection.execute(query).mappings()]
        model = spec.output_model
        assert model is not None, f"{spec.id}: a read needs a record output"
        if operation == "read_one":
            return _build(model, rows[0]) if rows else None
        if operation == "read_many":
            return tuple(_build(model, row) for row in rows)
        if operation == "read_map":
            return {tuple(row[k] for k in spec.map_key): _build(model, row) for row in rows}
        raise ContractViolation(
            self.runtime.role(spec, "contract_validation"), f"unknown operation {operation}"
        )

    # --- checks -------------------------------------------------------------------------

    def _check_tenant(
        self, ctx: CallContext, spec: CapabilitySpec, values: Mapping[str, Any], table: Any
    ) -> None:
        columns = {"tenant_id"}
        if table is not None and table.info.get("tenant_column"):
            columns.add(table.info["tenant_column"])
        for column in columns:
            value = values.get(column)
            if value is not None and value != ctx.tenant_id:
                raise ScopeViolation(
                    self.runtime.role(spec, "scope_violation"),
                    f"{spec.id}: {column} {value!r} is outside the caller's tenant",
                )

    # --- writes -------------------------------------------------------------------------

    def _statement(self, kind: str, table: sa.Table, keys: tuple[str, ...], build: Any) -> Any:
        """Statements are built once per table and column set; rows travel as parameters, so
        SQLAlchemy's compiled cache serves every later call."""
        cache_key = (kind, table.name, keys)
        statement = self._statements.get(cache_key)
        if statement is None:
            statement = self._statements[cache_key] = build()
        return statement

    def _insert_new(self, connection: Connection, table: sa.Table, row: Mapping[str, Any]) -> Any:
        """Insert unless a unique key already holds the row; the new row's id, else None."""
        identity = table.info.get("identity")

        def build() -> Any:
            insert = self._insert(table).on_conflict_do_nothing()
            return insert.returning(table.c[identity]) if identity else insert

        statement = self._statement("insert_new", table, tuple(row), build)
        result = connection.execute(statement, dict(row))
        return result.scalar() if identity else (result.rowcount or None)

    def _replay_of(
        self, connection: Connection, table: sa.Table, row: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The row an idempotent retry repeats: same values on a complete idempotency key."""
        for key in table.info.get("idempotency_keys", ()):
            if all(row.get(column) is not None for column in key):
                condition = sa.and_(*(table.c[column] == row[column] for column in key))
                found = connection.execute(sa.select(table).where(condition)).mappings().first()
                if found is not None:
                    return dict(found)
        return None

    def _row(
        self, ctx: CallContext, spec: CapabilitySpec, values: Mapping[str, Any], table: sa.Table
    ) -> dict[str, Any]:
        row = {c.name: values[c.name] for c in table.columns if c.name in values}
        for column, source in spec.fill:
            row[column] = digest(values) if source == DIGEST else values.get(source)
        row.pop(table.info.get("identity") or "", None)
        tenant_column = table.info.get("tenant_column")
        if tenant_column and row.get(tenant_column) is None:
            if ctx.tenant_id is None and not table.c[tenant_column].nullable:
                raise ScopeViolation(
                    self.runtime.role(spec, "scope_violation"),
                    f"{spec.id}: a context without a tenant cannot write tenant rows of "
                    f"{table.name}",
                )
            row[tenant_column] = ctx.tenant_id
        return row

    def _audit_append(
        self,
        connection: Connection,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        now: int,
    ) -> Written:
        assert self.audit_table is not None
        row = self._envelope(ctx, spec, values, now, values.get("reason_code"), own_row=True)
        new_id = self._insert_new(connection, self.audit_table, row)
        if new_id is not None:
            return Written(new_id, False, row["reason_code"])
        return self._replayed(connection, spec, self.audit_table, row)

    def _replayed(
        self, connection: Connection, spec: CapabilitySpec, table: sa.Table, row: Mapping[str, Any]
    ) -> Written:
        """A write that inserted nothing: an idempotent retry of the caller's own row, or a
        refusal. Another tenant's row under the same key is never revealed, not even its id."""
        original = self._replay_of(connection, table, row)
        if original is None:
            raise ContractViolation(
                self.runtime.role(spec, "contract_validation"),
                f"{spec.id}: a row with the same unique key already exists in {table.name}",
            )
        self._same_tenant(spec, table, original, row)
        identity = table.info["identity"]
        return self._written_replay(spec, original[identity])

    def _refusal(self, spec: CapabilitySpec) -> Callable[[str], NoReturn]:
        """Raise the engine's contract-validation refusal with a message."""
        code = self.runtime.role(spec, "contract_validation")

        def refuse(message: str) -> NoReturn:
            raise ContractViolation(code, message)

        return refuse

    def _same_tenant(
        self,
        spec: CapabilitySpec,
        table: sa.Table,
        original: Mapping[str, Any],
        row: Mapping[str, Any],
    ) -> None:
        tenant = table.info.get("tenant_column")
        if tenant and original.get(tenant) != row.get(tenant):
            raise ScopeViolation(
                self.runtime.role(spec, "scope_violation"),
                f"{spec.id}: the idempotency key is taken in another tenant",
            )

    def _append(
        self,
        connection: Connection,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        now: int,
        table: sa.Table,
    ) -> Written:
        row = self._row(ctx, spec, values, table)
        claim = None
        if not _keyed_by_table(table):
            claim = self._claim(connection, ctx, spec, values, now, table, row, ())
            if claim is not None and claim.replay is not None:
                return self._written_replay(spec, claim.replay)
        new_id = self._insert_new(connection, table, row)
        if new_id is None:
            return self._replayed(connection, spec, table, row)
        self.project(connection, table, {**row, table.info["identity"]: new_id})
        reason = values.get("reason_code") or spec.success_reason_code
        self._audit(connection, ctx, spec, values, now, reason)
        if claim is not None:
            self.outcomes.record(connection, claim, new_id)
        return Written(new_id, False, reason)

    def _upsert(
        self,
        connection: Connection,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        now: int,
        table: sa.Table,
    ) -> Written:
        row = self._row(ctx, spec, values, table)
        key = list(spec.lookup) or [c.name for c in table.primary_key.columns]
        claim = self._claim(connection, ctx, spec, values, now, table, row, key)
        if claim is not None and claim.replay is not None:
            return self._written_replay(spec, claim.replay)
        identity = [table.c[table.info["identity"]]] if table.info.get("identity") else None
        returned = identity or list(table.primary_key.columns)
        statement = self._statement(
            "upsert_returning",
            table,
            tuple(row),
            lambda: self._upsert_statement(table, key, row, guard_tenant=True).returning(*returned),
        )
        written = connection.execute(statement, row).first()
        if written is None:
            raise ScopeViolation(
                self.runtime.role(spec, "scope_violation"),
                f"{spec.id}: the row with this key in {table.name} belongs to another tenant",
            )
        row_id = written[0] if len(written) == 1 else tuple(written)
        reason = values.get("reason_code") or spec.success_reason_code
        self._audit(connection, ctx, spec, values, now, reason)
        if claim is not None:
            self.outcomes.record(connection, claim, row_id)
        return Written(row_id, False, reason)

    def _claim(
        self,
        connection: Connection,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        now: int,
        table: sa.Table,
        row: Mapping[str, Any],
        key: Sequence[str],
    ) -> Claim | None:
        """Claim the call's idempotency key in the table's scope of the row (its declared
        idempotency key's columns, else the columns the write is keyed by); None: no key."""
        idempotency_key = values.get("idempotency_key")
        if idempotency_key is None:
            return None
        declared = next(iter(table.info.get("idempotency_keys", ())), ())
        columns = [c for c in declared if c != "idempotency_key"] or list(key)
        scope = [table.name, *(row.get(c) for c in columns)]
        return self.outcomes.claim(
            connection, spec.id, ctx.tenant_id, scope, str(idempotency_key), now
        )

    def _written_replay(self, spec: CapabilitySpec, row_id: RowId) -> Written:
        return Written(row_id, True, self.runtime.role(spec, "idempotency_replay"))

    def _transition(
        self,
        connection: Connection,
        ctx: CallContext,
        spec: CapabilitySpec,
        payload: BaseModel,
        values: Mapping[str, Any],
        now: int,
        ledger: sa.Table,
    ) -> BaseModel:
        lifecycle = spec.lifecycle
        model = spec.output_model
        assert lifecycle is not None and lifecycle.current is not None and model is not None
        action = getattr(type(payload), "ACTION", None)
        step = lifecycle.transition(action) if isinstance(action, str) else None
        if step is None:
            raise ContractViolation(
                self.runtime.role(spec, "contract_validation"),
                f"{spec.id}: {type(payload).__name__} names no action of lifecycle "
                f"{lifecycle.name}",
            )
        row = self._row(ctx, spec, values, ledger)
        row[lifecycle.action_column] = step.action
        row[lifecycle.state_column] = step.to_state
        if "reason_code" in ledger.c and step.reason_code is not None:
            row["reason_code"] = step.reason_code
        original = self._replay_of(connection, ledger, row)
        if original is not None:
            self._same_tenant(spec, ledger, original, row)
            return _build(model, {**original, "replayed": True})

        current = self.tables[lifecycle.current]
        key = [c.name for c in current.primary_key.columns]
        if connection.dialect.name == "postgresql":
            # One transition per subject at a time, including its first, when no row exists to
            # lock yet. (SQLite needs nothing: its writers hold the database lock from BEGIN.)
            subject = "|".join([current.name, *(str(row.get(k)) for k in key)])
            connection.execute(_SUBJECT_LOCK, {"subject": subject})
        present = sa.and_(*(current.c[k] == row.get(k) for k in key))
        query = sa.select(current.c[lifecycle.state_column]).where(present)
        state = connection.execute(query).scalar()
        allowed = state in step.from_states if state is not None else not step.from_states
        if not allowed:
            raise TransitionInvalid(
                self.runtime.role(spec, "transition_invalid"),
                f"{spec.id}: {step.action} is not allowed from "
                f"{state or 'nothing'} (allowed from: {', '.join(step.from_states) or 'nothing'})",
            )
        new_id = self._insert_new(connection, ledger, row)
        if new_id is None:
            replay = self._replay_of(connection, ledger, row)
            if replay is None:
                raise ContractViolation(
                    self.runtime.role(spec, "contract_validation"),
                    f"{spec.id}: a row with the same unique key already exists in {ledger.name}",
                )
            self._same_tenant(spec, ledger, replay, row)
            return _build(model, {**replay, "replayed": True})
        written = {**row, ledger.info["identity"]: new_id}
        self.project(connection, ledger, written)
        self._audit(connection, ctx, spec, values, now, step.reason_code)
        return _build(model, {**written, "replayed": False})

    def project(self, connection: Connection, ledger: sa.Table, row: Mapping[str, Any]) -> None:
        """Apply one ledger row to the ledger's CURRENT projection, if it has one."""
        current = self.projections.get(ledger.name)
        if current is None:
            return
        mapping = dict(current.info.get("project", ()))
        values = {
            c.name: row[mapping.get(c.name, c.name)]
            for c in current.columns
            if mapping.get(c.name, c.name) in row
        }
        key = [c.name for c in current.primary_key.columns]
        statement = self._statement(
            "upsert", current, tuple(values), lambda: self._upsert_statement(current, key, values)
        )
        connection.execute(statement, values)

    def _upsert_statement(
        self,
        table: sa.Table,
        key: list[str],
        row: Mapping[str, Any],
        *,
        guard_tenant: bool = False,
    ) -> Any:
        """INSERT ... ON CONFLICT (key) DO UPDATE of the row's other columns. Guarded, the
        update happens only where the row already belongs to the writer's tenant: a key
        another tenant holds updates nothing and returns no row."""
        insert = self._insert(table)
        changes = {column: insert.excluded[column] for column in row if column not in key}
        tenant = table.info.get("tenant_column") if guard_tenant else None
        where = table.c[tenant] == insert.excluded[tenant] if tenant else None
        if not changes:  # every column is the key: an unchanged row still answers
            changes = {key[0]: insert.excluded[key[0]]}
        return insert.on_conflict_do_update(index_elements=key, set_=changes, where=where)

    def _rebuild(self, connection: Connection, ctx: CallContext, current: sa.Table) -> None:
        """Rebuild the caller's tenant's rows of a CURRENT table from its ledger, in event
        order, streaming the ledger in batches."""
        ledger = self.tables[current.info["projection_of"]]
        tenant = current.info.get("tenant_column")
        delete = current.delete()
        select = sa.select(ledger).order_by(ledger.c[ledger.info["identity"]])
        if tenant:
            delete = delete.where(current.c[tenant] == ctx.tenant_id)
            ledger_tenant = ledger.info.get("tenant_column") or tenant
            select = select.where(ledger.c[ledger_tenant] == ctx.tenant_id)
        connection.execute(delete)
        # Streamed in batches: memory stays flat however long the ledger is. The option goes on
        # the statement, not the connection, so the projection writes stay ordinary.
        stream = connection.execute(select.execution_options(yield_per=REBUILD_BATCH))
        for row in stream.mappings():
            self.project(connection, ledger, dict(row))

    # --- audit --------------------------------------------------------------------------

    def _envelope(
        self,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        now: int,
        reason_code: str | None,
        *,
        own_row: bool,
    ) -> dict[str, Any]:
        """An audit row. With `own_row` the call's input is the event (audit_append): its
        fields fill the envelope and its idempotency key dedupes it."""
        assert self.audit_table is not None
        columns = {c.name for c in self.audit_table.columns}
        # A write's own audit row takes every key its spec lists from the input (envelope
        # columns as columns, the rest into the payload); the context supplies the rest.
        source = values if own_row else {k: values[k] for k in spec.audit_keys if k in values}
        # Envelope fields come from the input when it gives them, else from the call context:
        # a row written under a tenant's context is that tenant's unless the input says whose.
        row: dict[str, Any] = {
            name: source[name] if source.get(name) is not None else getattr(ctx, name)
            for name in CONTEXT_FIELDS
        }
        engine = source.get("engine") or spec.engine_id
        event_type = source.get("event_type") or spec.event_type or ""
        refuse = self._refusal(spec)
        declared = self.event_types.find(engine, event_type)
        if declared is None:
            refuse(f"audit event type {event_type!r} is not declared for engine {engine}")
        if "payload_min" in source:
            payload = source["payload_min"]
            if not isinstance(payload, Mapping):
                refuse(f"payload_min must be an object, not {type(payload).__name__}")
            payload = dict(payload)
        else:
            payload = {
                key: values[key]
                for key in spec.audit_keys
                if values.get(key) is not None and key not in columns
            }
            payload.update(dict(spec.audit_payload))
            if problem := self.event_types.payload_problem(payload):
                refuse(f"the audit payload of {spec.id} is out of bounds: {problem}")
        refused = unknown_keys(payload, frozenset(declared.payload_keys))
        if refused:
            refuse(
                f"audit payload keys that {engine}'s event type {event_type} does not allow: "
                f"{', '.join(refused)}"
            )
        if reason_code is None:
            refuse(f"{spec.id}: an audit event needs a reason code")
        fixed = declared.severity
        if (engine, event_type) == (spec.engine_id, spec.event_type) and spec.severity:
            fixed = spec.severity
        given = source.get("severity")
        if given and fixed and given != fixed:
            refuse(f"{engine}'s {event_type} events have severity {fixed}, not {given}")
        row.update(
            created_at=now,
            engine=engine,
            event_type=event_type,
            reason_code=reason_code,
            severity=given or fixed or DEFAULT_SEVERITY,
            payload_min=payload,
            payload_digest=digest(payload),
            evidence_ref=source.get("evidence_ref"),
            idempotency_key=source.get("idempotency_key"),
        )
        return {key: value for key, value in row.items() if key in columns}

    def _audit(
        self,
        connection: Connection,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        now: int,
        reason_code: str | None,
    ) -> None:
        """The audit row of a data write, in the same transaction, when the spec requires one."""
        if self.audit_table is None or not any(r.mode == "required" for r in spec.audit):
            return
        row = self._envelope(ctx, spec, values, now, reason_code, own_row=False)
        if self._insert_new(connection, self.audit_table, row) is None:
            # The audit log's own keys: one audited write per idempotency key and thread.
            raise ContractViolation(
                self.runtime.role(spec, "contract_validation"),
                f"{spec.id}: idempotency key {row.get('idempotency_key')!r} already names "
                "another audited write in this correlation thread",
            )

    # --- reads --------------------------------------------------------------------------

    def _select(
        self, ctx: CallContext, spec: CapabilitySpec, values: Mapping[str, Any], table: sa.Table
    ) -> sa.Select[Any]:
        query = sa.select(table)
        for column in spec.lookup:
            query = query.where(table.c[column] == values.get(column))
        tenant = table.info.get("tenant_column")
        if tenant:
            query = query.where(table.c[tenant] == ctx.tenant_id)
        if spec.engine_column:
            query = query.where(table.c[spec.engine_column] == spec.engine_id)
        ttl = table.info.get("ttl_column")
        if ttl:
            query = query.where(table.c[ttl] > self.runtime.clock())
        for column, field in spec.cursor:
            if values.get(field) is not None:
                query = query.where(table.c[column] > values[field])
        order = spec.order_by or tuple(c.name for c in table.primary_key.columns)
        query = query.order_by(*(table.c[c] for c in order))
        if spec.limit and values.get(spec.limit) is not None:
            query = query.limit(values[spec.limit])
        return query


def _build(model: type[BaseModel], data: Mapping[str, Any]) -> BaseModel:
    """A record from a row: the fields the record declares, by their spec names."""
    names = {info.alias or name for name, info in model.model_fields.items()}
    return model.model_validate({key: value for key, value in data.items() if key in names})


def _keyed_by_table(table: sa.Table) -> bool:
    """Whether the table's own unique keys tell a retry: one of them holds the key."""
    return any("idempotency_key" in key for key in table.info.get("idempotency_keys", ()))
