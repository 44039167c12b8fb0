"""The audit log: the envelope of every audit row, its payload rules, and its writes.

The audit log is the table the catalog's `audit_append` capabilities write to; its columns are
the audit envelope of DESIGN §6. A row's `(engine, event_type)` must be declared; its payload
holds only that event type's keys, within the field dictionary's bounds; its severity is the
declared one (docs/runtime-contracts.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from ecm_contract import CONTEXT_FIELDS, Role
from ecm_contract import AuditColumn as A
from ecm_contract.invariants import BrokenInvariant
from sqlalchemy.engine import Connection

from ecm_runtime.audit import EventTypes, unknown_keys
from ecm_runtime.call import Call
from ecm_runtime.canonical import canonical_json, text_digest
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.errors import ContractViolation
from ecm_runtime.eventlog import EventLog
from ecm_runtime.refusals import Refusals

DEFAULT_SEVERITY = "INFO"


class AuditLog:
    def __init__(self, log: EventLog | None, event_types: EventTypes, refusals: Refusals) -> None:
        self.log = log
        """The audit log's own event log; None when the catalog has no audit log."""
        self.table = log.table if log is not None else None
        self.columns = (
            frozenset(c.name for c in self.table.columns) if self.table is not None else frozenset()
        )
        self.event_types = event_types
        self.refusals = refusals

    def write(self, connection: Connection, call: Call, reason_code: str | None) -> None:
        """The audit row of a data write, in the same transaction, when its binding names an
        event type (the wiring's explicit word, never the ECM text's prose)."""
        spec = call.spec
        if self.log is None or spec.event_type is None:
            return
        row = self.envelope(call, reason_code, own_row=False)
        if self.log.append(connection, row) is None:
            # The audit log's own keys: one audited write per idempotency key and thread.
            self._refuse(
                spec,
                f"{spec.id}: idempotency key {row.get(A.IDEMPOTENCY_KEY)!r} already names "
                "another audited write in this correlation thread",
            )

    def envelope(self, call: Call, reason_code: str | None, *, own_row: bool) -> dict[str, Any]:
        """An audit row. With `own_row` the call's input is the event (audit_append): its
        fields fill the envelope and its idempotency key dedupes it."""
        ctx, spec, values = call.ctx, call.spec, call.values
        if self.table is None:
            raise BrokenInvariant(f"{spec.id}: an audit row, and the package has no audit log")
        columns = self.columns
        # A write's own audit row takes every key its spec lists from the input (envelope
        # columns as columns, the rest into the payload); the context supplies the rest.
        source = values if own_row else {k: values[k] for k in spec.audit_keys if k in values}
        # Envelope fields come from the input when it gives them, else from the call context:
        # a row written under a tenant's context is that tenant's unless the input says whose.
        row: dict[str, Any] = {
            name: source[name] if source.get(name) is not None else getattr(ctx, name)
            for name in CONTEXT_FIELDS
        }
        engine = source.get(A.ENGINE) or spec.engine_id
        event_type = source.get(A.EVENT_TYPE) or spec.event_type or ""
        declared = self.event_types.find(engine, event_type)
        if declared is None:
            self._refuse(spec, f"audit event type {event_type!r} is not declared for {engine}")
        payload, canonical = self._payload(spec, source, values, columns)
        refused = unknown_keys(payload, frozenset(declared.payload_keys))
        if refused:
            self._refuse(
                spec,
                f"audit payload keys that {engine}'s event type {event_type} does not allow: "
                f"{', '.join(refused)}",
            )
        if reason_code is None:
            self._refuse(spec, f"{spec.id}: an audit event needs a reason code")
        self.refusals.check_declared(spec, engine, reason_code)
        fixed = declared.severity
        if (engine, event_type) == (spec.engine_id, spec.event_type) and spec.severity:
            fixed = spec.severity
        given = source.get(A.SEVERITY)
        if given and fixed and given != fixed:
            self._refuse(spec, f"{engine}'s {event_type} events have severity {fixed}, not {given}")
        row.update(
            {
                A.CREATED_AT: call.now,
                A.ENGINE: engine,
                A.EVENT_TYPE: event_type,
                A.REASON_CODE: reason_code,
                A.SEVERITY: given or fixed or DEFAULT_SEVERITY,
                A.PAYLOAD: payload,
                A.PAYLOAD_DIGEST: text_digest(canonical),
                A.EVIDENCE_REF: source.get(A.EVIDENCE_REF),
                A.IDEMPOTENCY_KEY: source.get(A.IDEMPOTENCY_KEY),
            }
        )
        return {key: value for key, value in row.items() if key in columns}

    def _payload(
        self,
        spec: CapabilitySpec,
        source: Mapping[str, Any],
        values: Mapping[str, Any],
        columns: frozenset[str],
    ) -> tuple[dict[str, Any], str]:
        """The writer's own payload (its input model kept it in bounds), or one built from the
        input's listed keys and checked against them; with its canonical JSON."""
        if A.PAYLOAD in source:
            payload = source[A.PAYLOAD]
            if not isinstance(payload, Mapping):
                self._refuse(spec, f"{A.PAYLOAD} must be an object, not {type(payload).__name__}")
            own = dict(payload)
            return own, canonical_json(own)
        built = {
            key: values[key]
            for key in spec.audit_keys
            if values.get(key) is not None and key not in columns
        }
        built.update(dict(spec.audit_payload))
        problem, canonical = self.event_types.bounded(built)
        if problem is not None:
            self._refuse(spec, f"the audit payload of {spec.id} is out of bounds: {problem}")
        return built, canonical

    def _refuse(self, spec: CapabilitySpec, message: str) -> NoReturn:
        self.refusals.refuse(spec, Role.CONTRACT_VALIDATION, ContractViolation, message)
