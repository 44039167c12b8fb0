"""The runtime: composition and the public API. It opens storage (connect.py), loads the
generated package's catalog, hands each piece the narrow things it needs, and passes every call
to `Dispatch` (dispatch.py): the caller class (fail closed), the input contract, tenant scope,
then the capability's operation in one transaction with its audit row (read-only for
`side_effects: NONE`).
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
from ecm_contract import Operation
from ecm_contract.catalog import AuditEventType, EngineContract
from sqlalchemy.engine import Connection, Engine

from ecm_runtime.admission import Admission
from ecm_runtime.audit import EventTypes
from ecm_runtime.audit_log import AuditLog
from ecm_runtime.budgets import Budgets
from ecm_runtime.call import Call
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.chain import Chains
from ecm_runtime.connect import make_engine
from ecm_runtime.context import CallContext
from ecm_runtime.dispatch import Dispatch
from ecm_runtime.errors import StorageError, UnknownCapability
from ecm_runtime.eventlog import EventLog
from ecm_runtime.handlers import Handlers
from ecm_runtime.idempotency import Idempotency
from ecm_runtime.lifecycle import Lifecycles
from ecm_runtime.operations import Operations, Parts
from ecm_runtime.outcomes import metadata as runtime_tables
from ecm_runtime.projection import Projector
from ecm_runtime.providers import ZERO_SETUP
from ecm_runtime.refusals import Refusals
from ecm_runtime.schema import install_append_only, install_row_security, ledger_tables
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
        self.metadata, capabilities, contracts = _load(package.__name__)
        self.capabilities: dict[str, CapabilitySpec] = {c.id: c for c in capabilities}
        self.refusals = Refusals(
            {e.engine_id: e.role_codes() for e in contracts},
            _declared_codes(self.capabilities.values()),
        )
        self.event_types: tuple[AuditEventType, ...] = tuple(
            event_type for e in contracts for event_type in e.event_types
        )
        self.clock = clock
        self.admission = Admission(self.capabilities, self.refusals)
        self.transactions = Transactions(engine, self.refusals)
        self.storage = Storage(self.metadata, engine.dialect, self.refusals, clock)
        self.projector = Projector(self.storage)
        self.chains = Chains(self.storage.insert, engine.dialect)
        """The chain heads of every ledger (chain.py)."""
        self.logs = {
            table.name: EventLog(table, self.transactions, self.projector, self.chains)
            for table in ledger_tables(self.metadata)
        }
        """Every ledger's event log: the one way rows enter a ledger."""
        self.audit = self._audit_log()
        tables = self.metadata.tables
        lifecycles = Lifecycles(self.capabilities.values(), tables, self.refusals, self.chains)
        self.lifecycles = lifecycles
        self.idempotency = Idempotency(self.storage.insert, self.refusals, clock, self.transactions)
        self.operations = Operations(
            Parts(self.storage, self.audit, self.projector, self.logs, lifecycles, self.idempotency)
        )
        self.handlers = self._handlers()
        """The team's code for handler capabilities (`rt.handlers.register(...)`)."""
        self.tools = ToolRunner(
            self,
            self.capabilities,
            self.metadata.tables,
            self.refusals,
            self.transactions,
            clock,
            self.handlers,
            Budgets(self.storage.insert),
        )
        """Providers of tool queries (`rt.tools.register(...)`) and their policy."""
        self.dispatch = self._dispatch()
        """Gates and runs every call that comes through `invoke` and `execute`."""
        _register_zero_setup(self.tools, self.capabilities.values(), clock)
        install_append_only(self.metadata)
        install_row_security(self.metadata)

    def _handlers(self) -> Handlers:
        return Handlers(
            self.capabilities,
            self.storage,
            self.audit,
            self.idempotency,
            self.transactions,
            self.refusals,
        )

    def _dispatch(self) -> Dispatch:
        return Dispatch(
            self,
            self.admission,
            self.refusals,
            self.handlers,
            self.tools,
            self.operations,
            self.transactions,
            self.clock,
        )

    def _audit_log(self) -> AuditLog:
        audit_table = _audit_table(self.metadata, self.capabilities.values())
        audit_log = self.logs[audit_table.name] if audit_table is not None else None
        event_types = EventTypes(self.event_types, self.capabilities.values())
        return AuditLog(audit_log, event_types, self.refusals)

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
        engine = make_engine(url or os.environ.get(URL_VARIABLE) or DEFAULT_URL)
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
        self.dispatch.gate(ctx, spec)
        return self.dispatch.run(ctx, spec, self.admission.built(spec, payload))

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
        self.dispatch.gate(ctx, spec)
        call = Call.of(ctx, spec, self.admission.built(spec, payload), self.clock)
        return self.operations.run(connection, call)

    def execute(
        self, ctx: CallContext, spec: CapabilitySpec, payload: pydantic.BaseModel
    ) -> object:
        """Run a capability with an already-built input model (the typed wrappers' path)."""
        spec = self.admission.own(spec)
        self.dispatch.gate(ctx, spec)
        return self.dispatch.run(ctx, spec, self.admission.built(spec, payload))

    def transaction(
        self, *, read_only: bool, spec: CapabilitySpec | None = None
    ) -> AbstractContextManager[Connection]:
        """One transaction; read-only ones refuse writes at the database. Driver errors
        become StorageErrors with the spec's codes."""
        return self.transactions.begin(read_only=read_only, spec=spec)


def _register_zero_setup(
    tools: ToolRunner, specs: Iterable[CapabilitySpec], clock: Callable[[], int]
) -> None:
    """The providers that need no configuration, for the tools of the catalog named so."""
    tool_names = {spec.tool_name for spec in specs}
    for provider_class in ZERO_SETUP:
        if provider_class.tool_name in tool_names:
            tools.register(provider_class.tool_name, provider_class(clock))


def _load(
    package: str,
) -> tuple[sa.MetaData, tuple[CapabilitySpec, ...], list[EngineContract]]:
    """A generated package's tables, capabilities and engine contracts."""
    catalog = importlib.import_module(f"{package}.catalog")
    tables = importlib.import_module(f"{package}.tables")
    engines = importlib.import_module(f"{package}.engines")
    contracts = [importlib.import_module(m).ENGINE for m in engines.MODULES.values()]
    return tables.metadata, tuple(catalog.CATALOG), contracts


def _declared_codes(specs: Iterable[CapabilitySpec]) -> dict[str, frozenset[str]]:
    """Engine id -> every reason code its capabilities' specs declare."""
    declared: dict[str, frozenset[str]] = {}
    for spec in specs:
        declared[spec.engine_id] = declared.get(spec.engine_id, frozenset()) | set(
            spec.reason_codes
        )
    return declared


def _audit_table(metadata: sa.MetaData, specs: Iterable[CapabilitySpec]) -> sa.Table | None:
    """The audit log: the one table the catalog's audit_append capabilities write to."""
    tables = {
        spec.table for spec in specs if spec.operation == Operation.AUDIT_APPEND and spec.table
    }
    if len(tables) > 1:
        raise ValueError(f"audit_append capabilities write to several tables: {tables}")
    return metadata.tables[tables.pop()] if tables else None


__all__ = ["Runtime", "StorageError"]
