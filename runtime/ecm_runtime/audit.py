"""Audit events: the bounded-key rule, the payload's bounds, and the event types the specs
declare."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Any

from ecm_contract import AuditColumn, Operation
from ecm_contract.catalog import AuditEventType
from pydantic import TypeAdapter, ValidationError

from ecm_runtime.canonical import canonical_json
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.models import JsonLimits


def unknown_keys(payload: Mapping[str, object], allowed: frozenset[str]) -> list[str]:
    return sorted(key for key in payload if key not in allowed)


class EventTypes:
    """The audit event types of every engine, and the bounds of an audit payload.

    An engine's own declaration of a type wins over one declared for every engine. The bounds
    are the field dictionary's type of the audit envelope's payload, as the audit log's own
    append capability takes it, so a payload the runtime builds obeys what a writer's would.
    """

    def __init__(
        self, declared: Iterable[AuditEventType], capabilities: Iterable[CapabilitySpec]
    ) -> None:
        declared = tuple(declared)
        self.own = {(t.engine_id, t.name): t for t in declared}
        self.shared = {t.name: t for t in declared if t.any_engine}
        self.payload = _payload_bounds(capabilities)

    def find(self, engine_id: str, name: str) -> AuditEventType | None:
        return self.own.get((engine_id, name)) or self.shared.get(name)

    def bounded(self, payload: Mapping[str, object]) -> tuple[str | None, str]:
        """What keeps a payload out of the field dictionary's bounds (None: nothing), and, when
        nothing does, its canonical JSON: the text its size was checked on is the text its
        digest is taken over."""
        if self.payload is None:
            return None, canonical_json(payload)
        adapter, limits = self.payload
        try:
            adapter.validate_python(payload)
        except ValidationError as error:
            return str(error.errors()[0]["msg"]), ""
        canonical = canonical_json(payload)
        return (limits.problem(payload, canonical) if limits else None), canonical


Bounds = tuple[TypeAdapter[object], JsonLimits | None]
"""The payload's type with its other constraints, and its JSON limits, checked apart."""


def _payload_bounds(capabilities: Iterable[CapabilitySpec]) -> Bounds | None:
    for spec in capabilities:
        field = spec.input_model.model_fields.get(AuditColumn.PAYLOAD)
        if spec.operation == Operation.AUDIT_APPEND and field is not None:
            limits = [m for m in field.metadata if isinstance(m, JsonLimits)]
            others = [m for m in field.metadata if not isinstance(m, JsonLimits)]
            annotation: Any = field.annotation
            if others:
                annotation = typing.Annotated[(annotation, *others)]
            return TypeAdapter(annotation), (limits[0] if limits else None)
    return None
