"""The resolved program: frozen, typed, serialisable to JSON; what the checks, the docs, diff
and init read, and what lowering (ecmc.lower) turns into the catalog the runtime runs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ecm_contract import Operation, Scope, ToolFields, TruthType
from ecm_contract import SideEffects as Effects
from ecm_contract.catalog import AuditMode

from ecmc.span import Span
from ecmc.typeref import Member, Scalar, TypeRef

__all__ = ["Member", "Scalar", "TypeRef"]  # re-exported: the IR's types, for its readers

# --- types ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    type: Scalar
    typed_by: str
    """Which rule typed the field: `field` for an explicit entry, else the convention pattern."""
    description: str
    span: Span


@dataclass(frozen=True, slots=True)
class Schema:
    text: str
    """The type expression as written in the spec."""
    type: TypeRef


# --- companion knowledge --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Convention:
    pattern: str
    type: Scalar
    description: str
    span: Span


@dataclass(frozen=True, slots=True)
class CallerPolicy:
    name: str
    callers: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    members: tuple[Member, ...]
    attributes: tuple[tuple[str, str], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    engine_id: str | None
    members: tuple[Member, ...]
    variants: tuple[Variant, ...]
    row_of: str | None
    alias_of: TypeRef | None
    description: str
    span: Span


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: Scalar
    nullable: bool
    typed_by: str
    span: Span
    default: str | None = None
    """The database's DEFAULT, for a write that leaves the column out: `true`, `false`, a
    number, a word, or `now` (the database's clock, as text)."""


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    columns: tuple[str, ...]
    span: Span
    where: tuple[tuple[str, str], ...] = ()
    """A partial unique key's condition: (column, value) pairs that all hold (`status=ACTIVE`,
    `active=true`); empty for a key over every row."""
    descending: tuple[str, ...] = ()
    """An index's columns ordered high to low."""


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """`columns` of a row name `target_columns` of one row of `table`, in order."""

    columns: tuple[str, ...]
    table: str
    target_columns: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    engine_id: str
    truth_type: TruthType | None
    """None when the spec's is malformed (reported; nothing is emitted then)."""
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    identity: str | None
    unique_keys: tuple[Key, ...]
    idempotency_keys: tuple[Key, ...]
    """Partial unique keys: enforced only where every nullable column of the key is set."""
    indexes: tuple[Key, ...]
    foreign_keys: tuple[ForeignKey, ...]
    projection_of: str | None
    ttl_column: str | None
    tenant_column: str | None
    """The column that holds the tenant: reads and writes never cross it."""
    scope: Scope | None
    """TENANT (rows belong to the tenant in `tenant_column`), GLOBAL (rows every tenant
    shares, as the wiring says explicitly), or '' (neither: no capability may use it)."""
    project: tuple[tuple[str, str], ...]
    """CURRENT tables: (column, ledger column) for columns not named as in the ledger."""
    description: str
    span: Span


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    capability_id: str | None
    from_states: tuple[str, ...]
    """Empty when the action creates the subject (`from`: `none`)."""
    to_state: str
    reason_code: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Lifecycle:
    name: str
    engine_id: str
    states: tuple[str, ...]
    final_states: tuple[str, ...]
    ledger: str | None
    current: str | None
    state_column: str
    """The ledger (and projection) column that holds the state."""
    action_column: str
    transitions: tuple[Transition, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class CapabilityBinding:
    """How the runtime carries out one capability: an operation on a table, and its audit."""

    capability_id: str
    operation: Operation
    table: str | None
    lookup: tuple[str, ...]
    order_by: tuple[str, ...]
    fill: tuple[tuple[str, str], ...]
    """(column, input field) pairs for columns the input names differently."""
    event_type: str | None
    payload: tuple[tuple[str, str], ...]
    reason_code: str | None
    """The reason code of a successful call's audit row, when the input carries none."""
    engine_column: str | None
    """A column that must hold the capability's engine id: the engine's own rows only."""
    cursor: tuple[tuple[str, str], ...]
    """(column, input field): read rows whose column is greater than the field."""
    limit: str | None
    """The input field that caps how many rows a read returns."""
    tool_name: str | None
    """For tool_query: the tool a provider answers."""
    severity: str | None
    """The severity of this capability's audit rows: its own, else its event type's."""
    span: Span
    unaudited: bool = False
    """The wiring says `event_type`: `NONE`: a write that emits no audit row, on purpose."""


@dataclass(frozen=True, slots=True)
class ToolPath:
    """The capabilities an engine's tool queries run through, from its wiring."""

    engine_id: str
    cache_read: str
    cache_write: str
    ok_commit: str
    fail_commit: str
    cache_ttl_ms: int
    reason_code: str | None
    span: Span
    fields: ToolFields
    """The names the runtime's tool path reads and writes (ecm_contract.ToolFields)."""
    declared: tuple[tuple[str, Span], ...]
    """(ToolFields attribute, span) for each name the wiring states."""


@dataclass(frozen=True, slots=True)
class AuditEventType:
    """An audit event type an engine emits: the payload keys it allows and its severity."""

    engine_id: str
    name: str
    severity: str | None
    """Every row of this type has this severity; None: the writer says."""
    payload_keys: tuple[str, ...]
    """The keys `payload_min` may hold: listed, else every audit key the engine's spec lists."""
    any_engine: bool
    """Declared for every engine (`emitted_by`: `ALL`), not only the declaring one."""
    description: str
    span: Span


@dataclass(frozen=True, slots=True)
class ReasonCodeRole:
    engine_id: str
    role: str
    code: str
    span: Span


# --- engines --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SideEffects:
    kind: Effects
    effects: tuple[str, ...]

    @property
    def writes(self) -> bool:
        return self.kind is Effects.DECLARED


@dataclass(frozen=True, slots=True)
class AuditKey:
    name: str
    qualifier: str
    span: Span


@dataclass(frozen=True, slots=True)
class AuditRequirement:
    mode: AuditMode
    keys: tuple[AuditKey, ...]
    rule: str
    span: Span


@dataclass(frozen=True, slots=True)
class Capability:
    id: str
    name: str | None
    group: str | None
    section: str
    """The section of the ECM file the capability stands in (usually its Capability List)."""
    allowed_callers: str | None
    callers: tuple[str, ...]
    side_effects: SideEffects | None
    input: Schema | None
    output: Schema | None
    input_fields: tuple[Member, ...]
    """The input as the flat fields a call carries, whatever shape the spec gives it."""
    reason_codes: tuple[str, ...]
    failure_modes: tuple[str, ...]
    audit: tuple[AuditRequirement, ...]
    extras: tuple[tuple[str, str], ...]
    span: Span

    @property
    def writes(self) -> bool:
        """Whether the spec declares side effects: the one answer to 'does it write?'."""
        return self.side_effects is not None and self.side_effects.writes

    @property
    def requires_audit(self) -> bool:
        """Whether an audit rule requires a row of every call (not only in replay)."""
        return any(req.mode is AuditMode.REQUIRED for req in self.audit)

    @property
    def audit_asked(self) -> bool:
        """Whether some audit rule asks anything of it (required or replay only)."""
        return any(req.mode is not AuditMode.NONE for req in self.audit)


@dataclass(frozen=True, slots=True)
class ReasonCode:
    code: str
    description: str
    span: Span


@dataclass(frozen=True, slots=True)
class DataOwned:
    table: str
    note: str
    span: Span


@dataclass(frozen=True, slots=True)
class Note:
    title: str
    lines: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Approval:
    """A breaking or security-relevant change the spec's owners approved (`ecmc diff`)."""

    rule: str
    subject: str
    reason: str
    span: Span


@dataclass(frozen=True, slots=True)
class Engine:
    engine_id: str
    source: str
    digest: str
    title: str
    purpose: str
    version: str | None
    status: str | None
    data_owned: tuple[DataOwned, ...]
    capabilities: tuple[Capability, ...]
    reason_codes: tuple[ReasonCode, ...]
    sources: tuple[str, ...]
    notes: tuple[Note, ...]
    header_extras: tuple[tuple[str, str], ...]
    span: Span
    audit_keys: tuple[str, ...] = ()
    """Every audit key the ECM spec lists, in order, whichever capabilities its rules name."""
    approvals: tuple[Approval, ...] = ()
    """`approved_changes` of the engine header: changes `ecmc diff` lets pass, with why."""


@dataclass(frozen=True, slots=True)
class Program:
    """Everything the specs say, resolved."""

    engines: tuple[Engine, ...]
    fields: tuple[FieldDef, ...]
    conventions: tuple[Convention, ...]
    caller_classes: tuple[str, ...]
    caller_policies: tuple[CallerPolicy, ...]
    records: tuple[Record, ...]
    tables: tuple[Table, ...]
    lifecycles: tuple[Lifecycle, ...]
    bindings: tuple[CapabilityBinding, ...]
    wiring_reason_codes: tuple[tuple[str, ReasonCode], ...]
    """(engine id, code) declared by wiring specs: codes the ECM files leave out."""
    reason_code_roles: tuple[ReasonCodeRole, ...]
    tool_paths: tuple[ToolPath, ...]
    audit_event_types: tuple[AuditEventType, ...]
    enum_reason_codes: tuple[tuple[str, Span], ...]
    """(engine id, where its wiring says so) of engines whose `reason_code` inputs are typed
    by the engine's ReasonCode enum."""
    inputs: tuple[tuple[str, str], ...]
    """(path, BLAKE3 digest) of every spec read."""


def to_jsonable(value: Any) -> Any:
    """Dataclasses -> dicts in field order, tuples -> lists; `None` and empty values kept."""
    if isinstance(value, Span):
        return {
            "path": value.path,
            "line": value.line,
            "col": value.col,
            "end_line": value.end_line,
            "end_col": value.end_col,
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    return value
