"""What the generated package tells the runtime about each capability."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ecm_contract import SideEffects, ToolFields
from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class AuditRule:
    """One audit-emission requirement of a capability, as its spec states it."""

    mode: str
    """`required`, `replay_only` (only in explicit replay/diagnostic flows) or `none`."""
    keys: tuple[str, ...]
    """The bounded payload keys the spec allows; any other key is refused."""


@dataclass(frozen=True, slots=True)
class AuditEventType:
    """An audit event type an engine's wiring declares: the payload keys its rows may hold
    and, when the type fixes it, their severity."""

    name: str
    engine_id: str
    payload_keys: tuple[str, ...]
    severity: str | None = None
    any_engine: bool = False
    """Declared for every engine, not only `engine_id`."""


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    from_states: tuple[str, ...]
    """Empty for the action that creates the subject."""
    to_state: str
    reason_code: str | None
    capability_id: str | None


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """States and allowed transitions, kept in a ledger and projected into a current table."""

    name: str
    ledger: str | None
    current: str | None
    state_column: str
    action_column: str
    states: tuple[str, ...]
    final_states: tuple[str, ...]
    transitions: tuple[Transition, ...]

    def transition(self, action: str) -> Transition | None:
        return next((t for t in self.transitions if t.action == action), None)


@dataclass(frozen=True, slots=True)
class ToolPath:
    """The capabilities an engine's tool queries run through (from its wiring)."""

    cache_read: str
    cache_write: str
    ok_commit: str
    fail_commit: str
    cache_ttl_ms: int
    reason_code: str | None
    fields: ToolFields = field(default_factory=ToolFields)
    """The names of the tool path's keys and columns, as the wiring declares them."""


@dataclass(frozen=True)
class CapabilitySpec:
    """One capability of one engine, compiled from its ECM spec. Everything past `source`
    has a default, so a generated entry states only what differs from it."""

    id: str
    engine_id: str
    name: str
    allowed_callers: str
    """The spec's `allowed_callers` policy."""
    callers: tuple[str, ...]
    """The caller classes that policy admits."""
    side_effects: str
    """`NONE` or `DECLARED`."""
    input_model: type[BaseModel]
    reason_codes: tuple[str, ...]
    source: str
    """`path:line` of the capability in its spec."""
    effects: tuple[str, ...] = ()
    output_model: type[BaseModel] | None = None
    """The model of what a call returns, when that is a record (not a scalar or nothing)."""
    output: str = ""
    """The output type as the spec writes it."""
    audit: tuple[AuditRule, ...] = ()
    operation: str | None = None
    """What the runtime does, from the engine's wiring: audit_append, append, upsert,
    transition, rebuild, read_one, read_many, read_map or tool_query; None: not bound."""
    table: str | None = None
    lookup: tuple[str, ...] = ()
    """Columns a read filters on (equal to the input fields of the same name)."""
    order_by: tuple[str, ...] = ()
    fill: tuple[tuple[str, str], ...] = ()
    """(column, input field or DIGEST) for columns the input names differently."""
    event_type: str | None = None
    """The audit event type of this capability's audit rows; None: a write emits none."""
    audit_payload: tuple[tuple[str, str], ...] = ()
    """Payload keys the wiring fixes for every audit row of this capability."""
    success_reason_code: str | None = None
    engine_column: str | None = None
    cursor: tuple[tuple[str, str], ...] = ()
    limit: str | None = None
    map_key: tuple[str, ...] = ()
    lifecycle: Lifecycle | None = None
    tool_name: str | None = None
    tool_path: ToolPath | None = None
    request_model: type[BaseModel] | None = None
    """What a tool query's provider is given: the input without the fields its cache key
    leaves out (ecm_contract.TOOL_REQUEST_OMITS)."""
    extras: tuple[tuple[str, str], ...] = ()
    severity: str | None = None
    """The severity of this capability's audit rows, when its wiring fixes one."""
    returns: Any = None
    """A handler's output type (a model, a generated alias, `tuple[...]`): what its answer is
    validated against; None: it returns nothing."""
    method: str | None = None
    """A handler's method name in its engine's generated `Handlers` protocol."""
    scope: str | None = None
    """TENANT when its table's rows belong to tenants (reads and writes stay in the caller's),
    GLOBAL when every tenant shares them (as its wiring says); None: no table."""
    variant_by: str | None = None
    """The input field whose value names the variant a handler's answer must be, when the
    output is a union of variants (`GET -> a / ROTATE -> a + b`); None: any variant."""

    @property
    def writes(self) -> bool:
        return self.side_effects == SideEffects.DECLARED

    @cached_property
    def audit_keys(self) -> tuple[str, ...]:
        """Every key the audit rules allow, in order; kept (every audited write asks)."""
        return tuple(dict.fromkeys(key for rule in self.audit for key in rule.keys))

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of the input, built on first use and kept."""
        return self.input_model.model_json_schema()
