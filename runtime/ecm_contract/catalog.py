"""The capability catalog: what the compiler's lowering stage produces, what a generated package
states by these constructors, and what the runtime consumes. One typed vocabulary for both
sides, so a new fact is one field here (and its lowering rule and runtime use), never a
mirror kept by hand.

A generated package states the version of the contract it was built for; a package built for
another one is refused at import (`require_contract`), not misread at run time.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from functools import cached_property
from typing import Any

from ecm_contract import Effect, Operation, Role, Scope, SideEffects, ToolFields

CONTRACT_VERSION = 3
"""Bumped whenever a catalog object gains, loses or changes a field the runtime reads, or the
generated wrappers call the runtime differently (v3: one `CallContext` method per answer shape)."""


class IncompatiblePackage(ImportError):
    """A generated package built for another catalog contract than this runtime's."""


def require_contract(version: int, package: str) -> None:
    """Called by a generated package's `__init__`: refuse to load one built for another
    contract, saying which and what to do."""
    if version != CONTRACT_VERSION:
        raise IncompatiblePackage(
            f"{package} was generated for catalog contract v{version}; this ecm_runtime "
            f"speaks v{CONTRACT_VERSION}: run `ecmc build` with the ecmc of this runtime"
        )


class AuditMode(StrEnum):
    """What an ECM audit-emission rule asks of the capabilities it names."""

    REQUIRED = "required"
    REPLAY_ONLY = "replay_only"
    """Only in explicit replay/diagnostic flows."""
    NONE = "none"


class Severity(StrEnum):
    """An audit row's severity."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRule:
    """One audit-emission requirement of a capability, as its spec states it."""

    mode: AuditMode
    keys: tuple[str, ...] = ()
    """The bounded payload keys the spec allows; any other key is refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEventType:
    """An audit event type an engine's wiring declares: the payload keys its rows may hold
    and, when the type fixes it, their severity."""

    name: str
    engine_id: str
    payload_keys: tuple[str, ...] = ()
    severity: Severity | None = None
    any_engine: bool = False
    """Declared for every engine, not only `engine_id`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    action: str
    from_states: tuple[str, ...] = ()
    """Empty for the action that creates the subject."""
    to_state: str
    reason_code: str | None = None
    capability_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle:
    """States and allowed transitions, kept in a ledger and projected into a current table."""

    name: str
    ledger: str | None = None
    current: str | None = None
    state_column: str
    action_column: str
    states: tuple[str, ...] = ()
    final_states: tuple[str, ...] = ()
    transitions: tuple[Transition, ...] = ()

    def transition(self, action: str) -> Transition | None:
        return next((t for t in self.transitions if t.action == action), None)

    def step_of(self, capability_id: str) -> Transition | None:
        """The transition a capability runs: the lifecycle's own mapping, by capability id."""
        return next((t for t in self.transitions if t.capability_id == capability_id), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolPath:
    """The capabilities an engine's tool queries run through (from its wiring)."""

    cache_read: str
    cache_write: str
    ok_commit: str
    fail_commit: str
    cache_ttl_ms: int
    reason_code: str | None = None
    fields: ToolFields = field(default_factory=ToolFields)
    """The names of the tool path's keys and columns, as the wiring declares them."""


@dataclass(frozen=True, kw_only=True)
class Capability:
    """One capability of one engine: everything the runtime knows of it but its models."""

    id: str
    engine_id: str
    name: str
    allowed_callers: str
    """The spec's `allowed_callers` policy."""
    callers: tuple[str, ...]
    """The caller classes that policy admits."""
    side_effects: SideEffects
    reason_codes: tuple[str, ...]
    source: str
    """`path:line` of the capability in its spec."""
    effects: tuple[Effect, ...] = ()
    output: str = ""
    """The output type as the spec writes it."""
    audit: tuple[AuditRule, ...] = ()
    operation: Operation = Operation.HANDLER
    """What the runtime does, from the engine's wiring; HANDLER: the team's registered code."""
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
    extras: tuple[tuple[str, str], ...] = ()
    severity: Severity | None = None
    """The severity of this capability's audit rows, when its wiring fixes one."""
    scope: Scope | None = None
    """TENANT when its table's rows belong to tenants (reads and writes stay in the caller's),
    GLOBAL when every tenant shares them (as its wiring says); None: no table."""
    variant_by: str | None = None
    """The input field whose value names the variant a handler's answer must be, when the
    output is a union of variants (`GET -> a / ROTATE -> a + b`); None: any variant."""

    @property
    def writes(self) -> bool:
        return self.side_effects is SideEffects.DECLARED

    @cached_property
    def audit_keys(self) -> tuple[str, ...]:
        """Every key the audit rules allow, in order; kept (every audited write asks)."""
        return tuple(dict.fromkeys(key for rule in self.audit for key in rule.keys))

    def contract(self) -> Capability:
        """The capability as the catalog states it, without what a subclass adds (models)."""
        return Capability(**{f.name: getattr(self, f.name) for f in fields(Capability)})


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineContract:
    """What an engine's wiring tells the runtime beside its capabilities."""

    engine_id: str
    reason_codes: tuple[str, ...] = ()
    """The codes the engine declares (its ECM spec's and its wiring's)."""
    roles: tuple[tuple[Role, str], ...] = ()
    """Its reason code for each kind of refusal."""
    event_types: tuple[AuditEventType, ...] = ()
    lifecycles: tuple[Lifecycle, ...] = ()
    tool_path: ToolPath | None = None

    def role_codes(self) -> dict[str, str]:
        return {str(role): code for role, code in self.roles}


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    """Every engine and capability of a program, in engine order: the lowering's result."""

    engines: tuple[EngineContract, ...]
    capabilities: tuple[Capability, ...]

    def event_type(self, engine_id: str, name: str) -> AuditEventType | None:
        """The engine's own declaration of an event type, else one declared for every
        engine: the one the runtime checks an audit row of that engine against."""
        types = [t for e in self.engines for t in e.event_types if t.name == name]
        own = next((t for t in types if t.engine_id == engine_id), None)
        return own or next((t for t in types if t.any_engine), None)


def defaults(cls: type[Any]) -> dict[str, Any]:
    """Each field's default, for a serialiser that states only what differs from it."""
    found: dict[str, Any] = {}
    for f in fields(cls):
        if f.default is not MISSING:
            found[f.name] = f.default
        elif f.default_factory is not MISSING:
            found[f.name] = f.default_factory()
    return found
