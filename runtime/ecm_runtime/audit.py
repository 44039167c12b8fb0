"""Audit events: the canonical payload, its BLAKE3 digest, the bounded-key rule, and the event
types the specs declare."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from blake3 import blake3
from ecm_contract import AuditColumn, Operation
from pydantic import TypeAdapter, ValidationError

from ecm_runtime.catalog import AuditEventType, CapabilitySpec

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""Built once: json.dumps builds an encoder per call for any but its default options."""


def canonical_json(value: object) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is."""
    return _CANONICAL.encode(value)


def digest(value: object) -> str:
    return blake3(canonical_json(value).encode("utf-8")).hexdigest()


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
        self.payload = _payload_adapter(capabilities)

    def find(self, engine_id: str, name: str) -> AuditEventType | None:
        return self.own.get((engine_id, name)) or self.shared.get(name)

    def payload_problem(self, payload: Mapping[str, object]) -> str | None:
        if self.payload is None:
            return None
        try:
            self.payload.validate_python(payload)
        except ValidationError as error:
            return str(error.errors()[0]["msg"])
        return None


def _payload_adapter(capabilities: Iterable[CapabilitySpec]) -> TypeAdapter[object] | None:
    for spec in capabilities:
        field = spec.input_model.model_fields.get(AuditColumn.PAYLOAD)
        if spec.operation == Operation.AUDIT_APPEND and field is not None:
            # The field's own FieldInfo carries its bounds and limits into the adapter.
            annotation: Any = typing.Annotated[field.annotation, field]
            return TypeAdapter(annotation)
    return None
