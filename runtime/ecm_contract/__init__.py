"""The contract between the compiler and the runtime, defined once for both.

In: nothing (this package depends on nothing, so the compile path imports it without
SQLAlchemy). Out: the vocabularies both sides speak (operations, truth types, side effects,
table scopes, reason-code roles), the facts a generated table states about itself, and every
name the runtime relies on: the audit envelope, the clock and reason fields, the tool path's
fields. The compiler checks a program against these names (ECM070); the runtime reads them
from here, never from a literal of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any


class Operation(StrEnum):
    """What a capability binding tells the runtime to do."""

    AUDIT_APPEND = "audit_append"
    APPEND = "append"
    UPSERT = "upsert"
    TRANSITION = "transition"
    REBUILD = "rebuild"
    READ_ONE = "read_one"
    READ_MANY = "read_many"
    READ_MAP = "read_map"
    TOOL_QUERY = "tool_query"
    HANDLER = "handler"
    """The team's own code, registered at run time, with the spec enforced around it: the
    operation of every capability its wiring does not bind otherwise."""

    @property
    def writes(self) -> bool:
        """Whether it writes whatever the spec says (a handler writes as its spec declares)."""
        return self in _WRITES or (self in _AUDITED and self is not Operation.HANDLER)

    @property
    def audited(self) -> bool:
        """A write that may emit its own audit row (rebuilding a projection emits none)."""
        return self in _AUDITED

    @property
    def reads(self) -> bool:
        return self in _READS

    @property
    def truth_types(self) -> frozenset[TruthType]:
        """The truth types of the tables it may act on; empty: it acts on none."""
        return _ACTS_ON[self]

    @property
    def answer(self) -> Answer:
        """The shape of what a call of it answers."""
        return _ANSWERS[self]


class Answer(StrEnum):
    """The shape of a call's answer, each named after the `CallContext` method that checks
    an answer of that shape (its typed wrapper calls it): a new operation that answers in an
    existing shape needs no new method and no new wrapper."""

    WRITTEN = "write"
    """A `Written`: the row's id, whether it was a replay, the reason code."""
    ONE = "one"
    """One record of the output model."""
    ONE_OR_NONE = "one_or_none"
    MANY = "many"
    """A tuple of records, in order."""
    MAPPED = "mapped"
    """Records by their key's values."""
    NOTHING = "run"
    HANDLED = "handle"
    """The handler's answer, validated against the output type by the runtime."""


class TruthType(StrEnum):
    LEDGER = "LEDGER"
    """Append-only: the database refuses UPDATE and DELETE."""
    CURRENT = "CURRENT"
    """State: one row per key, written directly or projected from a ledger."""
    CACHE = "CACHE"
    """Rows that expire at their TTL column."""


_AUDITED = frozenset(
    {Operation.AUDIT_APPEND, Operation.APPEND, Operation.UPSERT, Operation.TRANSITION}
    | {Operation.HANDLER}
)
_WRITES = frozenset({Operation.REBUILD})
_READS = frozenset({Operation.READ_ONE, Operation.READ_MANY, Operation.READ_MAP})
_ANY = frozenset(TruthType)
_ACTS_ON: dict[Operation, frozenset[TruthType]] = {
    Operation.AUDIT_APPEND: frozenset({TruthType.LEDGER}),
    Operation.APPEND: frozenset({TruthType.LEDGER}),
    Operation.UPSERT: frozenset({TruthType.CACHE, TruthType.CURRENT}),
    Operation.TRANSITION: frozenset({TruthType.LEDGER}),
    Operation.REBUILD: frozenset({TruthType.CURRENT}),
    Operation.READ_ONE: _ANY,
    Operation.READ_MANY: _ANY,
    Operation.READ_MAP: _ANY,
    Operation.TOOL_QUERY: frozenset(),
    Operation.HANDLER: frozenset(),
}


_ANSWERS: dict[Operation, Answer] = {
    Operation.AUDIT_APPEND: Answer.WRITTEN,
    Operation.APPEND: Answer.WRITTEN,
    Operation.UPSERT: Answer.WRITTEN,
    Operation.TRANSITION: Answer.ONE,
    Operation.REBUILD: Answer.NOTHING,
    Operation.READ_ONE: Answer.ONE_OR_NONE,
    Operation.READ_MANY: Answer.MANY,
    Operation.READ_MAP: Answer.MAPPED,
    Operation.TOOL_QUERY: Answer.ONE,
    Operation.HANDLER: Answer.HANDLED,
}


class SideEffects(StrEnum):
    NONE = "NONE"
    DECLARED = "DECLARED"


class Effect(StrEnum):
    """A side effect a capability declares: `side_effects`: `DECLARED (A + B)`."""

    DB_WRITE = "DB_WRITE"
    DB_WRITE_CURRENT_PROJECTION = "DB_WRITE_CURRENT_PROJECTION"
    AUDIT_WRITE = "AUDIT_WRITE"
    PROVIDER_CALL = "PROVIDER_CALL"
    EXTERNAL_SEND_REQUEST = "EXTERNAL_SEND_REQUEST"


class Access(StrEnum):
    """What a handler's connection may do, from what its capability declares."""

    READ = "read"
    """A read-only transaction (no effects, or only AUDIT_WRITE: the runtime writes the row)."""
    WRITE = "write"
    """The call's write transaction, which also holds its audit row (DB_WRITE)."""
    OUTSIDE = "outside"
    """No transaction while it runs: it calls out (PROVIDER_CALL, EXTERNAL_SEND_REQUEST), and
    no database transaction is held open across the network."""


def handler_access(effects: tuple[str, ...]) -> Access:
    if Effect.DB_WRITE in effects or Effect.DB_WRITE_CURRENT_PROJECTION in effects:
        return Access.WRITE
    if Effect.PROVIDER_CALL in effects or Effect.EXTERNAL_SEND_REQUEST in effects:
        return Access.OUTSIDE
    return Access.READ


def upsert_key(
    lookup: tuple[str, ...], primary_key: tuple[str, ...], tenant_column: str | None
) -> tuple[str, ...]:
    """The columns an upsert's row is keyed by: its lookup, else the table's primary key, and
    the table's tenant column, so that a tenant's key names its own row, never another's."""
    key = lookup or primary_key
    return (tenant_column, *key) if tenant_column and tenant_column not in key else key


class Scope(StrEnum):
    """Whose rows a table holds."""

    TENANT = "TENANT"
    GLOBAL = "GLOBAL"


class Role(StrEnum):
    """A kind of refusal; each engine's wiring names its reason code for each role."""

    CONTRACT_VALIDATION = "contract_validation"
    SCOPE_VIOLATION = "scope_violation"
    IDEMPOTENCY_REPLAY = "idempotency_replay"
    APPEND_ONLY_VIOLATION = "append_only_violation"
    CALLER_REFUSED = "caller_refused"
    TRANSITION_INVALID = "transition_invalid"
    NOT_FOUND = "not_found"
    FORBIDDEN_TOOL = "forbidden_tool"
    TIMEOUT = "timeout"
    BUDGET_EXCEEDED = "budget_exceeded"
    POLICY_BLOCK = "policy_block"
    FORBIDDEN_DOMAIN = "forbidden_domain"
    PROVIDER_ERROR = "provider_error"
    HANDLER_MISSING = "handler_missing"
    """A handler capability was called and no implementation is registered."""
    HANDLER_FAILED = "handler_failed"
    """A handler raised, or returned what its output schema does not admit."""
    STORAGE_UNAVAILABLE = "storage_unavailable"
    """The database could not be reached or was locked past the timeout: nothing was done."""


# --- field-name globs: naming conventions and field families ---------------------------------

FIELD_KEY = re.compile(r"[a-z][a-z0-9_]*")
"""A field's name as a call spells it."""
FIELD_FAMILY = re.compile(r"\*_[a-z0-9_]+|[a-z][a-z0-9_]*_\*")
"""A family of fields (`*_gate_ok`, `gate_*`): every field whose name has the fixed part and
more; a naming convention's pattern has the same shape."""


def glob_matches(pattern: str, name: str) -> bool:
    """Whether a `*_suffix` or `prefix_*` pattern matches `name` (the fixed part and more)."""
    if pattern.startswith("*"):
        return name.endswith(pattern[1:]) and len(name) > len(pattern) - 1
    return name.startswith(pattern[:-1]) and len(name) > len(pattern) - 1


# --- input fields the runtime reads by name (optional: without them it uses its defaults) ---

CLOCK_FIELD = "now"
"""A write's time in unix ms when its input gives one; else the runtime's clock."""
REASON_FIELD = "reason_code"
"""A write's own reason code when its input gives one; else its binding's success code."""
IDEMPOTENCY_FIELD = "idempotency_key"
REPLAYED_FIELD = "replayed"
"""Set on a lifecycle action's answer when it was a retry."""


class AuditColumn(StrEnum):
    """The audit envelope (DESIGN §6): the columns the runtime writes on the audit log."""

    CREATED_AT = "created_at"
    TENANT_ID = "tenant_id"
    WORK_ORDER_ID = "work_order_id"
    SESSION_ID = "session_id"
    USER_ID = "user_id"
    DEVICE_ID = "device_id"
    ENGINE = "engine"
    EVENT_TYPE = "event_type"
    REASON_CODE = "reason_code"
    SEVERITY = "severity"
    CORRELATION_ID = "correlation_id"
    TURN_ID = "turn_id"
    PAYLOAD = "payload_min"
    PAYLOAD_DIGEST = "payload_digest"
    EVIDENCE_REF = "evidence_ref"
    IDEMPOTENCY_KEY = "idempotency_key"


CONTEXT_FIELDS: tuple[AuditColumn, ...] = (
    AuditColumn.TENANT_ID,
    AuditColumn.CORRELATION_ID,
    AuditColumn.TURN_ID,
    AuditColumn.SESSION_ID,
    AuditColumn.USER_ID,
    AuditColumn.DEVICE_ID,
    AuditColumn.WORK_ORDER_ID,
)
"""Who asks, and in which thread: the audit envelope fields a call context supplies."""

POSITION_COLUMN = "ecm_xact"
"""A column of every LEDGER table the runtime owns: on PostgreSQL, the id of the transaction
that inserted the row (set by a trigger), by which a reader of the log orders rows and holds
back those whose transaction may still be running (ecm_runtime.eventlog); NULL on SQLite,
whose writers commit in sequence order."""

CHAIN_SEQ_COLUMN = "ecm_chain_seq"
"""A column of every LEDGER table the runtime owns: the row's place in its chain (the
ledger's rows of one tenant, or of the system scope), 1, 2, 3... with no gaps."""

CHAIN_DIGEST_COLUMN = "ecm_chain_digest"
"""A column of every LEDGER table the runtime owns: the chained digest of the row's
envelope, spelled with its algorithm (`sha256:<hex>`); ecm_runtime.chain says what it
covers."""

TOOL_REQUEST_OMITS: frozenset[str] = frozenset(
    {*CONTEXT_FIELDS, IDEMPOTENCY_FIELD, CLOCK_FIELD} - {AuditColumn.TENANT_ID}
)
"""Input fields of a tool query that its provider never sees: who asks (but for the tenant,
whose cache rows the answer lands in), the thread, the attempt and its time. What a provider
sees is exactly what its answer's cache key covers (the tenant's row, the query's digest)."""

AUDIT_REQUIRED: tuple[AuditColumn, ...] = (
    AuditColumn.CREATED_AT,
    AuditColumn.TENANT_ID,
    AuditColumn.ENGINE,
    AuditColumn.EVENT_TYPE,
    AuditColumn.REASON_CODE,
    AuditColumn.SEVERITY,
    AuditColumn.CORRELATION_ID,
    AuditColumn.PAYLOAD,
    AuditColumn.PAYLOAD_DIGEST,
    AuditColumn.IDEMPOTENCY_KEY,
)
"""The envelope columns an audit log must have: without one, what the runtime promises
(bounded payloads with their digest, idempotent audit appends, tenant scope) cannot hold.
The rest are written when the table has them."""


@dataclass(frozen=True, slots=True)
class ToolFields:
    """The names the tool path reads and writes, as an engine's wiring declares them (each
    `<name>_field` key of its `Tool Path`; these defaults otherwise). The compiler checks
    each against the capabilities and tables of the path."""

    tool_name: str = "tool_name"
    """Cache key, ok/fail row: which tool answered."""
    query_hash: str = "query_hash"
    """Cache key, ok/fail row: BLAKE3 of the normalised query."""
    locale: str = "locale"
    """Cache key: the query's locale (`und` when the query names none)."""
    payload: str = "result_payload"
    """Cache column: the provider's answer."""
    expiry: str = "expires_at"
    """Cache column: when the answer expires (unix ms)."""
    status: str = "cache_status"
    """Ok/fail row: HIT, MISS or BYPASS."""
    fail_code: str = "fail_code"
    """Fail row: the failure's reason code."""
    url: str = "url"
    """A tool input checked against the allowed domains."""


TOOL_FIELD_KEYS: tuple[str, ...] = tuple(f"{f.name}_field" for f in fields(ToolFields))


@dataclass(frozen=True, slots=True)
class TableFacts:
    """What a generated table states about itself, in its SQLAlchemy `info`."""

    engine_id: str
    truth_type: TruthType
    projection_of: str | None = None
    ttl_column: str | None = None
    identity: str | None = None
    """The column the database numbers; a ledger's event sequence."""
    tenant_column: str | None = None
    scope: Scope | None = None
    project: tuple[tuple[str, str], ...] = ()
    """(current column, ledger column) for a projection."""
    idempotency_keys: tuple[tuple[str, ...], ...] = ()
    source: str = ""

    @classmethod
    def of(cls, info: Mapping[str, Any]) -> TableFacts:
        """The facts of a table's `info` (keys other than the facts are ignored)."""
        given = {f.name: info[f.name] for f in fields(cls) if f.name in info}
        given["truth_type"] = TruthType(given["truth_type"])
        if given.get("scope") is not None:
            given["scope"] = Scope(given["scope"])
        return cls(**given)

    @property
    def numbered(self) -> str:
        """The identity column, for the runtime's appends and replays (the compiler gives every
        LEDGER one)."""
        if self.identity is None:
            raise LookupError(f"{self.source}: the table has no identity column")
        return self.identity

    @property
    def keyed_by_idempotency(self) -> bool:
        """An idempotency key of the table's own answers retries."""
        return any(IDEMPOTENCY_FIELD in key for key in self.idempotency_keys)


TABLE_FACT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(TableFacts))
