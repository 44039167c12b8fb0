"""The runtime: opens storage, checks every call against its spec, and runs it.

Order of checks for every call, from the spec: the caller class (fail closed), then the input
contract, then tenant scope; then the capability's operation runs in one transaction with its
audit row. Capabilities declared `side_effects: NONE` run in a read-only transaction.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

import pydantic
import sqlalchemy as sa
from ecm_contract import Operation, Role
from pydantic_core import PydanticSerializationError
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ecm_runtime.audit import EventTypes
from ecm_runtime.audit_log import AuditLog
from ecm_runtime.catalog import AuditEventType, CapabilitySpec
from ecm_runtime.context import CallContext
from ecm_runtime.errors import CallerRefused, ContractViolation, StorageError, UnknownCapability
from ecm_runtime.eventlog import EventLog
from ecm_runtime.handlers import Handlers
from ecm_runtime.idempotency import metadata as runtime_tables
from ecm_runtime.operations import Operations
from ecm_runtime.projection import Projector
from ecm_runtime.providers import ZERO_SETUP
from ecm_runtime.refusals import Refusals
from ecm_runtime.schema import install_append_only, ledger_tables
from ecm_runtime.storage import Storage
from ecm_runtime.tools import ToolRunner
from ecm_runtime.transactions import Transactions

DEFAULT_URL = "sqlite:///ecm.sqlite3"
URL_VARIABLE = "ECM_DATABASE_URL"
DEFAULT_PACKAGE = "selene_ecm"


def unix_ms() -> int:
    return time.time_ns() // 1_000_000


class Runtime:
    """Storage plus the compiled catalog of one generated package. It composes the pieces and
    hands each the narrow things it needs; none of them imports this module."""

    def __init__(
        self,
        engine: Engine,
        package: ModuleType,
        *,
        clock: Callable[[], int] = unix_ms,
    ) -> None:
        self.engine = engine
        self.package = package
        name = package.__name__
        catalog = importlib.import_module(f"{name}.catalog")
        tables = importlib.import_module(f"{name}.tables")
        engines = importlib.import_module(f"{name}.engines")
        self.metadata: sa.MetaData = tables.metadata
        self.capabilities: dict[str, CapabilitySpec] = {c.id: c for c in catalog.CATALOG}
        modules = [importlib.import_module(m) for m in engines.MODULES.values()]
        self.refusals = Refusals({module.ENGINE_ID: module.REASON_CODE_ROLES for module in modules})
        self.event_types: tuple[AuditEventType, ...] = tuple(
            event_type for module in modules for event_type in module.AUDIT_EVENT_TYPES
        )
        self.clock = clock
        self.transactions = Transactions(engine, self.refusals)
        self.storage = Storage(self.metadata, engine.dialect, self.refusals, clock)
        self.projector = Projector(self.storage)
        self.logs = {
            table.name: EventLog(table, self.transactions, self.projector)
            for table in ledger_tables(self.metadata)
        }
        """Every ledger's event log: the one way rows enter a ledger."""
        audit_table = _audit_table(self.metadata, self.capabilities.values())
        self.audit = AuditLog(
            self.logs[audit_table.name] if audit_table is not None else None,
            EventTypes(self.event_types, self.capabilities.values()),
            self.refusals,
        )
        self.operations = Operations(self.storage, self.audit, self.projector, self.logs)
        self.handlers = Handlers(
            self.capabilities, self.storage, self.audit, self.transactions, self.refusals
        )
        """The team's code for handler capabilities (`rt.handlers.register(...)`)."""
        self.tools = ToolRunner(
            self,
            self.capabilities,
            self.metadata.tables,
            self.audit.table,
            self.refusals,
            self.transactions,
            clock,
            self.handlers,
        )
        """Providers of tool queries (`rt.tools.register(...)`) and their policy."""
        tool_names = {spec.tool_name for spec in self.capabilities.values()}
        for provider_class in ZERO_SETUP:
            if provider_class.tool_name in tool_names:
                self.tools.register(provider_class.tool_name, provider_class(self.clock))
        install_append_only(self.metadata)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        package: str = DEFAULT_PACKAGE,
        create: bool = True,
        clock: Callable[[], int] = unix_ms,
    ) -> Runtime:
        """Open storage by URL (default: `ECM_DATABASE_URL`, else `./ecm.sqlite3` in WAL mode)
        and create the schema unless `create` is False (e.g. when migrations own it)."""
        engine = _make_engine(url or os.environ.get(URL_VARIABLE) or DEFAULT_URL)
        runtime = cls(engine, importlib.import_module(package), clock=clock)
        if create:
            runtime.create_schema()
        return runtime

    def create_schema(self) -> None:
        self.metadata.create_all(self.engine)
        runtime_tables.create_all(self.engine)

    def verify_schema(self) -> list[str]:
        """Every difference between the live database and what `create_schema` builds
        (tables, columns, types, nullability, keys, indexes, append-only triggers); empty
        when they agree. For a database whose schema migrations own (`create=False`)."""
        from ecm_runtime.migrations import schema_problems  # Alembic, only when asked

        with self.engine.connect() as connection:
            return schema_problems(connection, [self.metadata, runtime_tables])

    def close(self) -> None:
        self.transactions.close()
        self.engine.dispose()

    @property
    def catalog(self) -> tuple[CapabilitySpec, ...]:
        return tuple(self.capabilities.values())

    def event_log(self, ledger: str) -> EventLog:
        """The event-log operations of one LEDGER table."""
        if ledger not in self.logs:
            raise ValueError(f"{ledger} is not a ledger with a sequence column")
        return self.logs[ledger]

    @property
    def ledgers(self) -> tuple[str, ...]:
        return tuple(t.name for t in ledger_tables(self.metadata))

    def context(self, caller: str, tenant_id: str | None = None, **correlation: Any) -> CallContext:
        """A context for `caller` acting for `tenant_id`; without a tenant, a system context
        that sees and writes only rows that belong to no tenant."""
        return CallContext(self, caller, tenant_id, **correlation)

    # --- calling ------------------------------------------------------------------------

    def invoke(self, ctx: CallContext, capability_id: str, payload: Mapping[str, Any]) -> object:
        """Call a capability by its spec id with a plain mapping (validated by its model)."""
        spec = self.capabilities.get(capability_id)
        if spec is None:
            raise UnknownCapability(f"no compiled spec declares capability {capability_id!r}")
        self._gate(ctx, spec)
        return self._run(ctx, spec, self._validated(spec, payload))

    def invoke_within(
        self,
        connection: Connection,
        ctx: CallContext,
        capability_id: str,
        payload: Mapping[str, Any],
    ) -> object:
        """Call a storage capability inside the caller's open transaction (the tool path's
        cache write and audit row), with the same gate and input contract as `invoke`."""
        spec = self.capabilities[capability_id]
        self._gate(ctx, spec)
        return self.operations.run(connection, ctx, spec, self._validated(spec, payload))

    def _validated(self, spec: CapabilitySpec, payload: Mapping[str, Any]) -> pydantic.BaseModel:
        try:
            return spec.input_model.model_validate(dict(payload))
        except pydantic.ValidationError as error:
            raise ContractViolation(
                self.refusals.code(spec, Role.CONTRACT_VALIDATION), _summary(error)
            ) from None

    def execute(
        self, ctx: CallContext, spec: CapabilitySpec, payload: pydantic.BaseModel
    ) -> object:
        """Run a capability with an already-built input model (the typed wrappers' path)."""
        self._gate(ctx, spec)
        return self._run(ctx, spec, payload)

    def _run(self, ctx: CallContext, spec: CapabilitySpec, payload: pydantic.BaseModel) -> object:
        """Run a gated call: its input's type, then its operation."""
        if not isinstance(payload, spec.input_model):
            raise ContractViolation(
                self.refusals.code(spec, Role.CONTRACT_VALIDATION),
                f"{spec.id} takes {spec.input_model.__name__}, got {type(payload).__name__}",
            )
        if _holds_nul(payload):
            # No backend-dependent answer: PostgreSQL cannot store NUL in text or JSON, so no
            # backend accepts it, and the refusal carries this capability's own code.
            raise ContractViolation(
                self.refusals.code(spec, Role.CONTRACT_VALIDATION),
                f"{spec.id}: text holds a NUL character, which no field may hold",
            )
        if spec.operation == Operation.HANDLER:
            return self.handlers.run(ctx, spec, payload)
        if spec.operation == Operation.TOOL_QUERY and spec.tool_path is not None:
            return self.tools.run(ctx, spec, payload)
        if spec.operation is None or spec.operation == Operation.TOOL_QUERY:
            raise ContractViolation(
                self.refusals.code(spec, Role.CONTRACT_VALIDATION),
                f"{spec.id} has no storage operation in its wiring",
            )
        with self.transaction(read_only=not spec.writes, spec=spec) as connection:
            return self.operations.run(connection, ctx, spec, payload)

    def _gate(self, ctx: CallContext, spec: CapabilitySpec) -> None:
        if ctx.runtime is not self:
            raise CallerRefused(
                self.refusals.code(spec, Role.CALLER_REFUSED), "context of another runtime"
            )
        if ctx.caller not in spec.callers:
            raise CallerRefused(
                self.refusals.code(spec, Role.CALLER_REFUSED),
                f"{spec.id} admits {', '.join(spec.callers) or 'no caller'} "
                f"({spec.allowed_callers}), not {ctx.caller}",
            )

    def transaction(
        self, *, read_only: bool, spec: CapabilitySpec | None = None
    ) -> AbstractContextManager[Connection]:
        """One transaction; read-only ones refuse writes at the database. Driver errors
        become StorageErrors with the spec's codes."""
        return self.transactions.begin(read_only=read_only, spec=spec)


def _audit_table(metadata: sa.MetaData, specs: Iterable[CapabilitySpec]) -> sa.Table | None:
    """The audit log: the one table the catalog's audit_append capabilities write to."""
    tables = {
        spec.table for spec in specs if spec.operation == Operation.AUDIT_APPEND and spec.table
    }
    if len(tables) > 1:
        raise ValueError(f"audit_append capabilities write to several tables: {tables}")
    return metadata.tables[tables.pop()] if tables else None


def _holds_nul(payload: pydantic.BaseModel) -> bool:
    """Whether any string in the input (key or item) holds a NUL. JSON spells a NUL `\\u0000`,
    so a dump without that spelling has none: one pass in Rust for the usual input, and a
    walk to confirm (the spelling may be an escaped backslash's text)."""
    try:
        if "\\u0000" not in payload.model_dump_json():
            return False
    except PydanticSerializationError:
        pass  # not JSON-shaped: walk it
    return _walk_nul(payload.model_dump())


def _walk_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_walk_nul(k) or _walk_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_walk_nul(item) for item in value)
    return False


def _summary(error: pydantic.ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "input"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _make_engine(url: str) -> Engine:
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and transactions that take the write lock up front
    when they will write, so concurrent writers queue instead of failing to upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN below, not pysqlite's
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode = WAL", "foreign_keys = ON", "busy_timeout = 30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # Straight to the driver: SQLAlchemy's statement path costs more than the BEGIN. The
        # runtime's own transactions are begun on the driver already (transactions.py).
        driver = connection.connection.dbapi_connection
        assert driver is not None
        if not driver.in_transaction:
            driver.execute("BEGIN IMMEDIATE")


__all__ = ["Runtime", "StorageError"]
