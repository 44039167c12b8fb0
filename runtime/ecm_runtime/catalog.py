"""What the generated package tells the runtime about each capability."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class AuditRule:
    """One audit-emission requirement of a capability, as its spec states it."""

    mode: str
    """`required`, `replay_only` (only in explicit replay/diagnostic flows) or `none`."""
    keys: tuple[str, ...]
    """The bounded payload keys the spec allows; any other key is refused."""


@dataclass(frozen=True)
class CapabilitySpec:
    """One capability of one engine, compiled from its ECM spec."""

    id: str
    engine_id: str
    name: str
    allowed_callers: str
    """The spec's `allowed_callers` policy."""
    callers: tuple[str, ...]
    """The caller classes that policy admits."""
    side_effects: str
    """`NONE` or `DECLARED`."""
    effects: tuple[str, ...]
    input_model: type[BaseModel]
    output_model: type[BaseModel] | None
    """The model of what a call returns, when that is a record (not a scalar or nothing)."""
    output: str
    """The output type as the spec writes it."""
    reason_codes: tuple[str, ...]
    audit: tuple[AuditRule, ...]
    audit_event_type: str | None
    """The PH1.J event type the engine's wiring gives this capability's audit rows."""
    audit_payload: tuple[tuple[str, str], ...]
    """Payload keys the wiring fixes for every audit row of this capability."""
    source: str
    """`path:line` of the capability in its spec."""
    extras: tuple[tuple[str, str], ...] = field(default=())

    @property
    def writes(self) -> bool:
        return self.side_effects == "DECLARED"

    @property
    def audit_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(key for rule in self.audit for key in rule.keys))

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of the input, built on first use and kept."""
        return self.input_model.model_json_schema()
