"""Handlers: capabilities the team implements in its own code, with the spec enforced around it.

A capability bound to `operation: handler`, or bound to nothing, runs the function registered
for it (`rt.handlers.register(ID, fn)`, or `register_all(obj, ENGINE_ID)` for an object
implementing the engine's generated `Handlers` protocol). A call: caller gate and input model
(Runtime) -> tenant scope -> the replay of a retried idempotency key, for capabilities that
declare writes -> the handler, with the access its declared side effects grant
(ecm_contract.handler_access; docs/runtime-contracts.md) -> its answer validated against the
spec's output type -> the audit row its binding names and the idempotency outcome, in the
same transaction as whatever the handler wrote. A handler that raises, or answers outside its
output type, fails closed with the engine's code and nothing is committed.

Tool providers are handlers too: the tool path (tools.py) runs the one registered for a tool
query's capability, around its cache and policy.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

import pydantic
import sqlalchemy as sa
from ecm_contract import REASON_FIELD, Access, Role, handler_access
from ecm_contract.invariants import present
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from ecm_runtime.audit_log import AuditLog
from ecm_runtime.call import Call
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.confinement import HandlerConnection, confined
from ecm_runtime.context import CallContext
from ecm_runtime.errors import (
    ContractViolation,
    HandlerFailed,
    HandlerMissing,
    StorageError,
)
from ecm_runtime.facts import facts
from ecm_runtime.idempotency import Idempotency
from ecm_runtime.outcomes import Claim, ClaimState
from ecm_runtime.refusals import Refusals
from ecm_runtime.storage import Storage
from ecm_runtime.transactions import Transactions

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True)
class HandlerCall(Generic[M]):
    """What a handler is given: the validated input, who calls, and what it may touch."""

    input: M
    ctx: CallContext
    """Who calls, for which tenant, in which thread. It makes no calls: a handler's work is
    its own and its connection's, never another capability's."""
    spec: CapabilitySpec
    now: int
    """The call's time (unix ms): the input's `now`, else the runtime's clock."""
    connection: HandlerConnection | None
    """The call's transaction (confinement.py): read-write when the capability declares
    DB_WRITE (whatever the handler writes commits with the audit row, or not at all),
    read-only when it declares no side effects or only AUDIT_WRITE, None when it calls out
    (PROVIDER_CALL, EXTERNAL_SEND_REQUEST): no transaction is held open across the network."""


Handler = Callable[[HandlerCall[Any]], object]


@dataclass(frozen=True, slots=True)
class _NoCalls:
    """The executor of a handler's context: a handler calls no capability through it (nor
    reaches the runtime's engine by it)."""

    refusals: Refusals

    def execute(self, ctx: CallContext, spec: CapabilitySpec, payload: BaseModel) -> object:
        raise HandlerFailed(
            self.refusals.code(spec, Role.HANDLER_FAILED),
            f"{spec.id}: a handler's context makes no calls; the service calls capabilities",
        )


class Handlers:
    def __init__(
        self,
        capabilities: Mapping[str, CapabilitySpec],
        storage: Storage,
        audit: AuditLog,
        idempotency: Idempotency,
        transactions: Transactions,
        refusals: Refusals,
    ) -> None:
        self.capabilities = capabilities
        self.storage, self.audit, self.idempotency = storage, audit, idempotency
        self.transactions, self.refusals = transactions, refusals
        self.registry: dict[str, Handler] = {}
        self._outputs: dict[str, pydantic.TypeAdapter[Any]] = {}
        self.no_calls = _NoCalls(refusals)
        self.owned: dict[str, frozenset[str]] = {}
        """Engine id -> the tables it owns: the only ones its handlers may write."""
        for table in storage.tables.values():
            engine_id = facts(table).engine_id
            self.owned[engine_id] = self.owned.get(engine_id, frozenset()) | {table.name}

    # --- registration -------------------------------------------------------------------

    def register(self, capability_id: str, handler: Handler) -> None:
        """Run `handler` for a handler (or tool query) capability."""
        spec = self.capabilities.get(capability_id)
        if spec is None:
            raise KeyError(f"no compiled spec declares capability {capability_id!r}")
        if spec.method is None and spec.tool_name is None:
            raise ValueError(
                f"{capability_id} is bound to {spec.operation}, not to a handler: the runtime "
                "runs it from its wiring"
            )
        self.registry[capability_id] = handler

    def register_all(self, implementation: object, engine_id: str | None = None) -> list[str]:
        """Register every method of `implementation` named after a handler capability (an
        object implementing an engine's generated `Handlers` protocol); the ids registered."""
        found: dict[str, list[str]] = {}
        for spec in self.capabilities.values():
            if spec.method is None or (engine_id is not None and spec.engine_id != engine_id):
                continue
            if callable(getattr(implementation, spec.method, None)):
                found.setdefault(spec.method, []).append(spec.id)
        ambiguous = sorted(m for m, ids in found.items() if len(ids) > 1)
        if ambiguous:
            raise ValueError(
                f"methods {', '.join(ambiguous)} name handlers of several engines: pass engine_id"
            )
        for method, (capability_id,) in found.items():
            self.register(capability_id, getattr(implementation, method))
        return sorted(ids[0] for ids in found.values())

    def handler(self, spec: CapabilitySpec) -> Handler:
        handler = self.registry.get(spec.id)
        if handler is None:
            raise HandlerMissing(
                self.refusals.code(spec, Role.HANDLER_MISSING),
                f"{spec.id} is a handler capability and none is registered: "
                f"rt.handlers.register({spec.id!r}, fn)",
            )
        return handler

    # --- one call -----------------------------------------------------------------------

    def run(self, call: Call) -> object:
        ctx, spec, payload, now = call.ctx, call.spec, call.payload, call.now
        handler = self.handler(spec)
        self.storage.check_tenant(call, None)
        access = handler_access(spec.effects)
        asking = dataclasses.replace(ctx, runtime=self.no_calls)
        if not spec.writes:
            with self._confined(ctx, spec, writes=False) as reading:
                return self._answer(spec, handler, HandlerCall(payload, asking, spec, now, reading))
        keyed = self.idempotency.keyed(call, [_HANDLER_SCOPE])
        if access is Access.WRITE:
            with self.transactions.begin(read_only=False, spec=spec) as connection:
                claim = None
                if keyed is not None:
                    claim = self.idempotency.claim(connection, spec, keyed, self.storage.clock())
                    if claim.state is ClaimState.REPLAY:
                        return self._replayed(spec, claim)
                for handler_connection in self._confine(connection, ctx, spec, writes=True):
                    asked = HandlerCall(payload, asking, spec, now, handler_connection)
                    answer = self._answer(spec, handler, asked)
                self._commit(connection, call, answer, claim)
                return answer

        def run_apart(claim: Claim | None) -> object:
            if access is Access.OUTSIDE:
                answer = self._answer(spec, handler, HandlerCall(payload, asking, spec, now, None))
            else:
                with self._confined(ctx, spec, writes=False) as reading:
                    asked = HandlerCall(payload, asking, spec, now, reading)
                    answer = self._answer(spec, handler, asked)
            with self.transactions.begin(read_only=False, spec=spec) as connection:
                self._commit(connection, call, answer, claim)
            return answer

        replay = functools.partial(self._replayed, spec)
        return self.idempotency.once(spec, keyed, run_apart, replay)

    @contextmanager
    def _confined(
        self, ctx: CallContext, spec: CapabilitySpec, *, writes: bool
    ) -> Iterator[HandlerConnection]:
        """A transaction of the handler's own, its connection confined."""
        with self.transactions.begin(read_only=not writes, spec=spec) as connection:
            yield from self._confine(connection, ctx, spec, writes=writes)

    def _confine(
        self, connection: Connection, ctx: CallContext, spec: CapabilitySpec, *, writes: bool
    ) -> Iterator[HandlerConnection]:
        owned = self.owned.get(spec.engine_id, frozenset())
        with confined(
            connection,
            writes=writes,
            engine_id=spec.engine_id,
            tenant_id=ctx.tenant_id,
            owned=owned,
        ) as handler_connection:
            yield handler_connection

    def _answer(self, spec: CapabilitySpec, handler: Handler, call: HandlerCall[Any]) -> object:
        """The handler's answer, validated against the output type; failures fail closed."""
        try:
            answer = handler(call)
        except StorageError as error:
            if error.reason_code not in spec.reason_codes:
                self._fail(
                    spec,
                    f"the handler raised a StorageError with {error.reason_code!r}, "
                    "a code its spec does not declare",
                    error,
                )
            self._check_confined(spec, call)
            raise
        except sa.exc.DBAPIError:
            self._check_confined(spec, call)
            raise  # the database's refusals become StorageErrors as the transaction ends
        except Exception as error:  # the team's code: any failure ends in the spec's code
            self._check_confined(spec, call)
            self._fail(spec, f"the handler raised {type(error).__name__}: {error}", error)
        self._check_confined(spec, call)
        if spec.returns is None:
            if answer is not None:
                self._refuse_answer(spec, f"returns nothing, got {type(answer).__name__}")
            return None
        try:
            validated = self._output(spec).validate_python(answer)
        except pydantic.ValidationError as error:
            self._refuse_answer(spec, str(error.errors()[0]["msg"]))
        self._check_variant(spec, call, validated)
        return validated

    def _check_variant(self, spec: CapabilitySpec, call: HandlerCall[Any], answer: Any) -> None:
        """An answer of a union output is the variant its input names, when it names one."""
        if spec.variant_by is None:
            return
        named = str(getattr(call.input, spec.variant_by, ""))
        variant = getattr(answer, "VARIANT", None)
        variants = {getattr(m, "VARIANT", None) for m in typing.get_args(spec.returns)}
        if named in variants and variant != named:
            self._refuse_answer(
                spec, f"{spec.variant_by}={named} answers its {named} variant, not {variant}"
            )

    def _check_confined(self, spec: CapabilitySpec, call: HandlerCall[Any]) -> None:
        """A statement outside the handler's side effects fails the call, caught or not."""
        violation = call.connection.violation if call.connection is not None else None
        if violation is not None:
            self._fail(spec, f"a statement outside its declared side effects: {violation}")

    def _fail(
        self, spec: CapabilitySpec, problem: str, cause: BaseException | None = None
    ) -> NoReturn:
        raise HandlerFailed(
            self.refusals.code(spec, Role.HANDLER_FAILED), f"{spec.id}: {problem}"
        ) from cause

    def _refuse_answer(self, spec: CapabilitySpec, problem: str) -> NoReturn:
        self._fail(spec, f"the handler's answer breaks the output contract: {problem}")

    def _output(self, spec: CapabilitySpec) -> pydantic.TypeAdapter[Any]:
        adapter = self._outputs.get(spec.id)
        if adapter is None:
            adapter = self._outputs[spec.id] = pydantic.TypeAdapter(spec.returns)
        return adapter

    # --- audit, idempotency -------------------------------------------------------------

    def _commit(
        self, connection: Connection, call: Call, answer: object, claim: Claim | None
    ) -> None:
        """The audit row its binding names (its keys from the input and the answer) and the
        outcome a retry replays, in the call's transaction."""
        spec = call.spec
        dumped = self._dump(spec, answer)
        call = call.seeing(dumped if isinstance(dumped, Mapping) else {})
        reason = call.values.get(REASON_FIELD)
        reason = reason if isinstance(reason, str) else spec.success_reason_code
        if spec.event_type is not None and reason is None:
            raise ContractViolation(
                self.refusals.code(spec, Role.CONTRACT_VALIDATION),
                f"{spec.id}: its audit row needs a reason code; neither the input, the answer "
                "nor the binding gives one",
            )
        self.audit.write(connection, call, reason)
        if claim is not None:
            self.idempotency.record(connection, spec, claim, {"answer": dumped})

    def _dump(self, spec: CapabilitySpec, answer: object) -> Any:
        if spec.returns is None:
            return None
        return self._output(spec).dump_python(answer, mode="json", by_alias=True)

    def _replayed(self, spec: CapabilitySpec, claim: Claim) -> object:
        """A retry's answer: the first call's, as recorded."""
        answer = present(claim.outcome, f"{spec.id}: a replayed claim's outcome").get("answer")
        return None if spec.returns is None else self._output(spec).validate_python(answer)


_HANDLER_SCOPE = "handler"
"""The scope of a handler's idempotency keys, beside the tenant: one key, one call."""
