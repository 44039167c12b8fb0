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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

import pydantic
import sqlalchemy as sa
from ecm_contract import CLOCK_FIELD, IDEMPOTENCY_FIELD, REASON_FIELD, Access, Role, handler_access
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from ecm_runtime.audit_log import AuditLog
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext
from ecm_runtime.errors import ContractViolation, StorageError
from ecm_runtime.idempotency import Claim
from ecm_runtime.refusals import Refusals
from ecm_runtime.storage import Storage
from ecm_runtime.transactions import Transactions

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class HandlerCall(Generic[M]):
    """What a handler is given: the validated input, who calls, and what it may touch."""

    input: M
    ctx: CallContext
    spec: CapabilitySpec
    now: int
    """The call's time (unix ms): the input's `now`, else the runtime's clock."""
    connection: Connection | None
    """The call's transaction: read-write when the capability declares DB_WRITE (whatever the
    handler writes commits with the audit row, or not at all), read-only when it declares no
    side effects or only AUDIT_WRITE, None when it calls out (PROVIDER_CALL,
    EXTERNAL_SEND_REQUEST): no transaction is held open across the network."""


Handler = Callable[[HandlerCall[Any]], object]


class HandlerMissing(StorageError):
    """A handler capability was called and no implementation is registered for it."""


class HandlerFailed(StorageError):
    """A handler raised, or answered outside its capability's output type."""


class Handlers:
    def __init__(
        self,
        capabilities: Mapping[str, CapabilitySpec],
        storage: Storage,
        audit: AuditLog,
        transactions: Transactions,
        refusals: Refusals,
    ) -> None:
        self.capabilities = capabilities
        self.storage, self.audit = storage, audit
        self.transactions, self.refusals = transactions, refusals
        self.registry: dict[str, Handler] = {}
        self._outputs: dict[str, pydantic.TypeAdapter[Any]] = {}

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

    def run(self, ctx: CallContext, spec: CapabilitySpec, payload: BaseModel) -> object:
        handler = self.handler(spec)
        values = payload.model_dump(by_alias=True)
        self.storage.check_tenant(ctx, spec, values, None)
        given = values.get(CLOCK_FIELD)
        now = given if isinstance(given, int) else self.storage.clock()
        access = handler_access(spec.effects)
        if not spec.writes:
            with self.transactions.begin(read_only=True, spec=spec) as connection:
                return self._answer(spec, handler, HandlerCall(payload, ctx, spec, now, connection))
        if access is Access.WRITE:
            with self.transactions.begin(read_only=False, spec=spec) as connection:
                claim = self._claim(connection, ctx, spec, values, now)
                if claim is not None and claim.outcome is not None:
                    return self._replayed(spec, claim)
                call = HandlerCall(payload, ctx, spec, now, connection)
                answer = self._answer(spec, handler, call)
                self._commit(connection, ctx, spec, now, values, answer, claim)
                return answer
        return self._run_apart(ctx, spec, payload, handler, values, now, access)

    def _run_apart(
        self,
        ctx: CallContext,
        spec: CapabilitySpec,
        payload: BaseModel,
        handler: Handler,
        values: Mapping[str, Any],
        now: int,
        access: Access,
    ) -> object:
        """A handler that writes nothing itself (AUDIT_WRITE, PROVIDER_CALL): it runs before
        the runtime's write transaction, which records its audit row and outcome. A retry that
        finds the first outcome answers with it and runs nothing."""
        earlier = self._earlier(ctx, spec, values)
        if earlier is not None:
            return self._replayed(spec, earlier)
        if access is Access.OUTSIDE:
            answer = self._answer(spec, handler, HandlerCall(payload, ctx, spec, now, None))
        else:
            with self.transactions.begin(read_only=True, spec=spec) as connection:
                call = HandlerCall(payload, ctx, spec, now, connection)
                answer = self._answer(spec, handler, call)
        with self.transactions.begin(read_only=False, spec=spec) as connection:
            claim = self._claim(connection, ctx, spec, values, now)
            if claim is not None and claim.outcome is not None:
                return self._replayed(spec, claim)  # a concurrent first call got there first
            self._commit(connection, ctx, spec, now, values, answer, claim)
        return answer

    def _answer(self, spec: CapabilitySpec, handler: Handler, call: HandlerCall[Any]) -> object:
        """The handler's answer, validated against the output type; failures fail closed."""
        try:
            answer = handler(call)
        except (StorageError, sa.exc.DBAPIError):
            raise  # the database's refusals become StorageErrors as the transaction ends
        except Exception as error:  # the team's code: any failure ends in the spec's code
            raise HandlerFailed(
                self.refusals.code(spec, Role.HANDLER_FAILED),
                f"{spec.id}: the handler raised {type(error).__name__}: {error}",
            ) from error
        if spec.returns is None:
            if answer is not None:
                self._refuse_answer(spec, f"returns nothing, got {type(answer).__name__}")
            return None
        try:
            return self._output(spec).validate_python(answer)
        except pydantic.ValidationError as error:
            self._refuse_answer(spec, str(error.errors()[0]["msg"]))

    def _refuse_answer(self, spec: CapabilitySpec, problem: str) -> NoReturn:
        raise HandlerFailed(
            self.refusals.code(spec, Role.HANDLER_FAILED),
            f"{spec.id}: the handler's answer breaks the output contract: {problem}",
        )

    def _output(self, spec: CapabilitySpec) -> pydantic.TypeAdapter[Any]:
        adapter = self._outputs.get(spec.id)
        if adapter is None:
            adapter = self._outputs[spec.id] = pydantic.TypeAdapter(spec.returns)
        return adapter

    # --- audit, idempotency -------------------------------------------------------------

    def _commit(
        self,
        connection: Connection,
        ctx: CallContext,
        spec: CapabilitySpec,
        now: int,
        values: Mapping[str, Any],
        answer: object,
        claim: Claim | None,
    ) -> None:
        """The audit row its binding names (its keys from the input and the answer) and the
        outcome a retry replays, in the call's transaction."""
        dumped = self._dump(spec, answer)
        fields = {**values, **(dumped if isinstance(dumped, Mapping) else {})}
        reason = fields.get(REASON_FIELD)
        reason = reason if isinstance(reason, str) else spec.success_reason_code
        if spec.event_type is not None and reason is None:
            raise ContractViolation(
                self.refusals.code(spec, Role.CONTRACT_VALIDATION),
                f"{spec.id}: its audit row needs a reason code; neither the input, the answer "
                "nor the binding gives one",
            )
        self.audit.write(connection, ctx, spec, fields, now, reason)
        if claim is not None:
            self.storage.outcomes.record_outcome(connection, claim, {"answer": dumped})

    def _dump(self, spec: CapabilitySpec, answer: object) -> Any:
        if spec.returns is None:
            return None
        return self._output(spec).dump_python(answer, mode="json", by_alias=True)

    def _claim(
        self,
        connection: Connection,
        ctx: CallContext,
        spec: CapabilitySpec,
        values: Mapping[str, Any],
        now: int,
    ) -> Claim | None:
        key = values.get(IDEMPOTENCY_FIELD)
        if key is None:
            return None
        return self.storage.outcomes.claim(
            connection, spec.id, ctx.tenant_id, [spec.id], str(key), now
        )

    def _earlier(
        self, ctx: CallContext, spec: CapabilitySpec, values: Mapping[str, Any]
    ) -> Claim | None:
        key = values.get(IDEMPOTENCY_FIELD)
        if key is None:
            return None
        outcomes = self.storage.outcomes
        scope_digest = outcomes.scope_digest(ctx.tenant_id, [spec.id], str(key))
        with self.transactions.begin(read_only=True, spec=spec) as connection:
            outcome = outcomes.outcome(connection, scope_digest)
        return Claim(scope_digest, None, outcome) if outcome is not None else None

    def _replayed(self, spec: CapabilitySpec, claim: Claim) -> object:
        """A retry's answer: the first call's, as recorded."""
        assert claim.outcome is not None
        answer = claim.outcome.get("answer")
        return None if spec.returns is None else self._output(spec).validate_python(answer)
