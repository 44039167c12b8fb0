"""The tool path: read-only tool queries answered by pluggable providers, cached and audited.

For a `tool_query` capability the wiring names the tool and the engine's tool path: the
capabilities that read and write the cache and that commit the ok and fail audit rows. A call:
caller gate -> replay of an earlier call with the same idempotency key -> policy (allowed
tools, blocked terms, allowed URL domains, budget per correlation thread) -> cache lookup by
(tool_name, query_hash, locale) within its TTL -> provider call under a timeout -> cache write
-> the ok or fail row with its cache status -> the provider's response, with provenance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol
from urllib.parse import urlsplit

import sqlalchemy as sa
from ecm_contract import CLOCK_FIELD, REASON_FIELD, TOOL_REQUEST_OMITS, Role
from ecm_contract import AuditColumn as A
from ecm_contract.catalog import ToolPath
from ecm_contract.invariants import present
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection

from ecm_runtime.admission import unstorable
from ecm_runtime.blocking import blocked
from ecm_runtime.budgets import Budgets
from ecm_runtime.call import Call
from ecm_runtime.canonical import digest
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext
from ecm_runtime.errors import ContractViolation, ToolError, ToolFailure
from ecm_runtime.facts import facts
from ecm_runtime.handlers import Handler, HandlerCall, Handlers
from ecm_runtime.outcomes import Claim
from ecm_runtime.refusals import Refusals
from ecm_runtime.transactions import Transactions

Provider = Callable[[BaseModel], BaseModel | Mapping[str, Any]]
HIT, MISS, BYPASS = "HIT", "MISS", "BYPASS"
NO_LOCALE = "und"  # BCP 47 "undetermined": the cache key needs a locale
_TOOL_SCOPE = "tool"
"""The scope of a tool query's idempotency keys, beside the tenant: one key, one query."""


@dataclass(frozen=True)
class ToolPolicy:
    allowed_tools: frozenset[str] | None = None
    """Tools that may run; None: every tool with a provider."""
    allowed_domains: frozenset[str] = frozenset()
    """Hosts a `url` input may name (subdomains included); empty: no URL is allowed."""
    blocked_terms: frozenset[str] = frozenset()
    """Queries containing any of these (case-insensitive) are refused."""
    uncached_tools: frozenset[str] = frozenset()
    """Tools whose answers must not be cached: their rows say BYPASS."""
    timeout_seconds: float = 10.0
    budget_per_correlation: int | None = None
    """Tool queries one correlation thread may make; None: no limit."""


def normalised(values: Mapping[str, Any]) -> dict[str, Any]:
    """What a query asks, in one spelling: the fields its provider sees (not who asks, the
    thread or the attempt; ecm_contract.TOOL_REQUEST_OMITS), whitespace collapsed."""
    return {
        key: " ".join(value.split()) if isinstance(value, str) else value
        for key, value in sorted(values.items())
        if key not in TOOL_REQUEST_OMITS and value is not None
    }


def domain_allowed(url: str, allowed: frozenset[str]) -> bool:
    """Whether the URL's host is an allowed domain or under one; an unreadable URL is not."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:  # e.g. a bracketed host that is no IPv6 address: http://[example.org]/
        return False
    return bool(host) and any(host == d or host.endswith(f".{d}") for d in allowed)


class Invoker(Protocol):
    """What the tool path calls other capabilities through (the runtime, in practice)."""

    def invoke(self, ctx: CallContext, capability_id: str, payload: Mapping[str, Any]) -> object:
        """Gate, validate and run a capability in a transaction of its own."""

    def invoke_within(
        self,
        connection: Connection,
        ctx: CallContext,
        capability_id: str,
        payload: Mapping[str, Any],
    ) -> object:
        """Gate, validate and run a capability in the caller's transaction."""


@dataclass
class ToolRunner:
    calls: Invoker
    capabilities: Mapping[str, CapabilitySpec]
    tables: Mapping[str, sa.Table]
    refusals: Refusals
    transactions: Transactions
    clock: Callable[[], int]
    handlers: Handlers
    """The one registry of the team's code: a tool's provider is the handler of every tool
    query capability of that tool."""
    budgets: Budgets
    policy: ToolPolicy = field(default_factory=ToolPolicy)
    providers: dict[str, Provider] = field(default_factory=dict)

    def register(self, tool_name: str, provider: Provider) -> None:
        self.providers[tool_name] = provider
        for spec in self.capabilities.values():
            if spec.tool_name == tool_name:
                self.handlers.register(spec.id, _Provided(provider))

    def register_all(self, provider: object) -> list[str]:
        """Register every method of `provider` named after a tool of the catalog (an object
        implementing a generated `ToolProvider` protocol)."""
        found = []
        for spec in self.capabilities.values():
            method = getattr(provider, spec.tool_name or "", None) if spec.tool_name else None
            if callable(method) and spec.tool_name:
                self.register(spec.tool_name, method)
                found.append(spec.tool_name)
        return found

    # --- one call -----------------------------------------------------------------------

    def run(self, call: Call) -> BaseModel:
        ctx, spec, values = call.ctx, call.spec, call.values
        path = present(spec.tool_path, f"{spec.id}: its tool path")
        tool = present(spec.tool_name, f"{spec.id}: its tool name")
        model = present(spec.output_model, f"{spec.id}: its answer's model")
        # Before anything runs: a query naming another tenant would hand the provider that
        # tenant's id while its answer lands in this tenant's cache row.
        self.handlers.storage.check_tenant(call, None)
        request = self._request(spec, values)
        names = path.fields
        asked = request.model_dump(mode="json", by_alias=True)
        key = {
            names.tool_name: tool,
            # Everything the provider is given, and who gives it: the answer depends on
            # nothing else, so a cached answer is exactly the one this call would get.
            names.query_hash: digest({"caller": ctx.caller, "request": asked}),
            names.locale: values.get(names.locale) or NO_LOCALE,
        }
        query = _Query(call, path, key, request)
        # One key, one query: concurrent calls with it wait for the first and replay it.
        keyed = self.handlers.idempotency.keyed(call, [_TOOL_SCOPE])
        return self.handlers.idempotency.once(
            spec,
            keyed,
            lambda claim: self._answer(query, model, claim),
            lambda claim: self._replayed(query, model, claim),
        )

    def _answer(self, query: _Query, model: type[BaseModel], claim: Claim | None) -> BaseModel:
        path, names, ctx = query.path, query.path.fields, query.call.ctx
        cached_here = query.spec.tool_name not in self.policy.uncached_tools
        status = MISS if cached_here and self._cacheable(ctx, path) else BYPASS
        self._check_policy(query, status, claim)
        if status == MISS:
            cached = self.calls.invoke(ctx, path.cache_read, query.key)
            if isinstance(cached, BaseModel):
                response = model.model_validate(cached.model_dump()[names.payload])
                with self.transactions.begin(read_only=False, spec=query.spec) as connection:
                    self._commit(query, path.ok_commit, HIT, None, connection)
                    self._record(connection, query, claim, {"answer": _json(response)})
                return response
        response = self._provide(query, model, status, claim)
        # The cache row, the ok row and the outcome commit together, or none of them.
        with self.transactions.begin(read_only=False, spec=query.spec) as connection:
            if status == MISS:
                now = self.clock()
                entry = {
                    **query.key,
                    CLOCK_FIELD: now,
                    names.payload: _json(response),
                    names.expiry: now + path.cache_ttl_ms,
                }
                write = self.capabilities[path.cache_write]
                self.calls.invoke_within(connection, ctx, write.id, _accepted(write, entry))
            self._commit(query, path.ok_commit, status, None, connection)
            self._record(connection, query, claim, {"answer": _json(response)})
        return response

    def _request(self, spec: CapabilitySpec, values: Mapping[str, Any]) -> BaseModel:
        """What the provider is given: the query in its one spelling (`normalised`)."""
        request_model = present(spec.request_model, f"{spec.id}: its request model")
        try:
            return request_model.model_validate(normalised(values))
        except ValidationError as error:
            raise ContractViolation(
                self.refusals.code(spec, Role.CONTRACT_VALIDATION),
                f"{spec.id}: the query, in its one spelling, breaks its contract: "
                f"{error.errors()[0]['msg']}",
            ) from None

    def _cacheable(self, ctx: CallContext, path: ToolPath) -> bool:
        """Whether this context's answers may be cached: a cache of tenant rows holds no
        answer for a context without a tenant (its queries bypass the cache)."""
        table = self.tables[self.capabilities[path.cache_write].table or ""]
        tenant = facts(table).tenant_column
        return ctx.tenant_id is not None or not tenant or bool(table.c[tenant].nullable)

    def _check_policy(self, query: _Query, status: str, claim: Claim | None) -> None:
        policy, tool = self.policy, query.spec.tool_name or ""
        allowed = policy.allowed_tools
        registered = query.spec.id in self.handlers.registry
        if not registered or (allowed is not None and tool not in allowed):
            self._fail(query, claim, Role.FORBIDDEN_TOOL, status, f"tool {tool} is not allowed")
        asked = query.request.model_dump(mode="json")
        if blocked(" ".join(str(v) for v in asked.values()), policy.blocked_terms):
            self._fail(query, claim, Role.POLICY_BLOCK, status, f"the query to {tool} is blocked")
        url = query.call.values.get(query.path.fields.url)
        if isinstance(url, str) and not domain_allowed(url, policy.allowed_domains):
            self._fail(query, claim, Role.FORBIDDEN_DOMAIN, status, f"{url!r} is not allowed")
        budget = policy.budget_per_correlation
        if budget is not None and not self._spend(query, budget):
            self._fail(
                query, claim, Role.BUDGET_EXCEEDED, status, "the correlation's tool budget is spent"
            )

    def _spend(self, query: _Query, budget: int) -> bool:
        """One query of the thread's budget, counted at the database: concurrent queries of
        one thread each take their own unit, and none past the budget."""
        ctx, values = query.call.ctx, query.call.values
        scope = [ctx.tenant_id, query.spec.engine_id, values.get(A.CORRELATION_ID)]
        with self.transactions.begin(read_only=False, spec=query.spec) as connection:
            return self.budgets.spend(connection, scope, budget)

    def _provide(
        self, query: _Query, model: type[BaseModel], status: str, claim: Claim | None
    ) -> BaseModel:
        handler = self.handlers.handler(query.spec)
        # The provider sees the request and who asks as far as the cache key says: the caller
        # class and the tenant, not the user, the device or the thread.
        ctx = query.call.ctx
        asking = CallContext(self.handlers.no_calls, ctx.caller, ctx.tenant_id)
        request = HandlerCall(query.request, asking, query.spec, self.clock(), None)
        timeout = self.policy.timeout_seconds
        try:
            answer = _within(timeout, handler, request)
        except TimeoutError:
            self._fail(query, claim, Role.TIMEOUT, status, f"no answer in {timeout} s")
        except ToolFailure as failure:
            self._fail(query, claim, failure.role, status, str(failure))
        except Exception as error:  # a provider's bug must still end in an audited failure
            problem = f"{type(error).__name__}: {error}"
            self._fail(query, claim, Role.PROVIDER_ERROR, status, problem)
        try:
            response = answer if isinstance(answer, model) else model.model_validate(answer)
        except ValidationError as error:
            problem = f"answer breaks the contract: {error}"
            self._fail(query, claim, Role.PROVIDER_ERROR, status, problem)
        if unstorable(response) is not None:
            problem = f"answer {unstorable(response)}"
            self._fail(query, claim, Role.PROVIDER_ERROR, status, problem)
        return response

    # --- audit, replay ------------------------------------------------------------------

    def _commit(
        self,
        query: _Query,
        capability: str,
        status: str,
        code: str | None,
        connection: Connection | None = None,
    ) -> None:
        """The ok or fail audit row of a call, in `connection`'s transaction if given."""
        spec, names = self.capabilities[capability], query.path.fields
        fields = {
            **query.call.values,
            CLOCK_FIELD: self.clock(),
            names.tool_name: query.key[names.tool_name],
            names.query_hash: query.key[names.query_hash],
            names.status: status,
            names.fail_code: code,
            REASON_FIELD: code or query.path.reason_code,
        }
        row = _accepted(spec, fields)
        if connection is None:
            self.calls.invoke(query.call.ctx, capability, row)
        else:
            self.calls.invoke_within(connection, query.call.ctx, capability, row)

    def _fail(
        self, query: _Query, claim: Claim | None, role: Role, status: str, message: str
    ) -> NoReturn:
        """The fail row and the failed outcome (a retry replays the failure), then the error."""
        code = self.refusals.code(query.spec, role)
        with self.transactions.begin(read_only=False, spec=query.spec) as connection:
            self._commit(query, query.path.fail_commit, status, code, connection)
            self._record(connection, query, claim, {"failed": code, "message": message})
        raise ToolError(code, f"{query.spec.id}: {message}")

    def _record(
        self,
        connection: Connection,
        query: _Query,
        claim: Claim | None,
        outcome: Mapping[str, Any],
    ) -> None:
        if claim is not None:
            self.handlers.idempotency.record(connection, query.spec, claim, outcome)

    def _replayed(self, query: _Query, model: type[BaseModel], claim: Claim) -> BaseModel:
        """A retry answers as the first call did, without running the tool again."""
        outcome = claim.outcome or {}
        failed = outcome.get("failed")
        if isinstance(failed, str):
            message = outcome.get("message")
            raise ToolError(failed, f"{query.spec.id}: replay of a failed query: {message}")
        return model.model_validate(outcome.get("answer"))


def _within(timeout: float, handler: Handler, request: HandlerCall[Any]) -> object:
    """The handler's answer, or TimeoutError after `timeout` seconds. It runs in a daemon
    thread: one that never answers is abandoned, and never keeps the interpreter from
    exiting."""
    done = threading.Event()
    result: list[object] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(handler(request))
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)
        finally:
            done.set()

    threading.Thread(target=run, name="ecm-tool-provider", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"no answer in {timeout} s")
    if failure:
        raise failure[0]
    return result[0]


def _json(response: BaseModel) -> Any:
    return response.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class _Provided:
    """A provider as a handler: it takes the query's input model."""

    provider: Provider

    def __call__(self, call: HandlerCall[Any]) -> object:
        return self.provider(call.input)


def _accepted(spec: CapabilitySpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a capability's input takes, by its spec names (its model forbids others)."""
    names = {info.alias or name for name, info in spec.input_model.model_fields.items()}
    return {key: value for key, value in values.items() if key in names}


@dataclass(frozen=True, slots=True)
class _Query:
    """One tool query: its call, its tool path, its cache key and the provider's request."""

    call: Call
    path: ToolPath
    key: Mapping[str, Any]
    request: BaseModel
    """What the provider is given."""

    @property
    def spec(self) -> CapabilitySpec:
        return self.call.spec
