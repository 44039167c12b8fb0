"""The tool path: read-only tool queries answered by pluggable providers, cached and audited.

For a `tool_query` capability the wiring names the tool and the engine's tool path: the
capabilities that read and write the cache and that commit the ok and fail audit rows. A call:
caller gate -> replay of an earlier call with the same idempotency key -> policy (allowed
tools, blocked terms, allowed URL domains, budget per correlation thread) -> cache lookup by
(tool_name, query_hash, locale) within its TTL -> provider call under a timeout -> cache write
-> the ok or fail row with its cache status -> the provider's response, with provenance.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol
from urllib.parse import urlsplit

import sqlalchemy as sa
from ecm_contract import CLOCK_FIELD, IDEMPOTENCY_FIELD, REASON_FIELD, TOOL_REQUEST_OMITS, Role
from ecm_contract import AuditColumn as A
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection

from ecm_runtime.canonical import digest
from ecm_runtime.catalog import CapabilitySpec, ToolPath
from ecm_runtime.context import CallContext
from ecm_runtime.errors import ContractViolation, StorageError
from ecm_runtime.facts import facts
from ecm_runtime.handlers import HandlerCall, Handlers
from ecm_runtime.refusals import Refusals
from ecm_runtime.transactions import Transactions

Provider = Callable[[BaseModel], BaseModel | Mapping[str, Any]]
HIT, MISS, BYPASS = "HIT", "MISS", "BYPASS"
NO_LOCALE = "und"  # BCP 47 "undetermined": the cache key needs a locale


class ToolFailure(Exception):
    """Raised by a provider: `role` is a reason-code role (timeout, budget_exceeded,
    policy_block, forbidden_domain, forbidden_tool, provider_error)."""

    def __init__(self, role: Role, message: str) -> None:
        super().__init__(message)
        self.role = role


class ToolError(StorageError):
    """A tool query failed; `reason_code` is the engine's code, and a fail row was audited."""


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
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == d or host.endswith(f".{d}") for d in allowed)


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
    audit_table: sa.Table | None
    refusals: Refusals
    transactions: Transactions
    clock: Callable[[], int]
    handlers: Handlers
    """The one registry of the team's code: a tool's provider is the handler of every tool
    query capability of that tool."""
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

    def run(self, ctx: CallContext, spec: CapabilitySpec, payload: BaseModel) -> BaseModel:
        path, tool, model = spec.tool_path, spec.tool_name, spec.output_model
        assert path is not None and tool is not None and model is not None
        values = payload.model_dump(by_alias=True)
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
        call = _Call(ctx, spec, path, values, key, request)

        earlier = self._earlier(call)
        if earlier is not None:
            return self._replay(call, earlier, model)
        cached_here = tool not in self.policy.uncached_tools and self._cacheable(ctx, path)
        status = MISS if cached_here else BYPASS
        self._check_policy(call, status)
        if status == MISS:
            cached = self.calls.invoke(ctx, path.cache_read, key)
            if isinstance(cached, BaseModel):
                response = model.model_validate(cached.model_dump()[names.payload])
                self._commit(call, path.ok_commit, HIT, None)
                return response
        response = self._provide(call, model, status)
        # The cache row and the ok row commit together: a refused commit leaves no cache row.
        with self.transactions.begin(read_only=False, spec=spec) as connection:
            if status == MISS:
                now = self.clock()
                entry = {
                    **key,
                    CLOCK_FIELD: now,
                    names.payload: response.model_dump(mode="json"),
                    names.expiry: now + path.cache_ttl_ms,
                }
                write = self.capabilities[path.cache_write]
                self.calls.invoke_within(connection, ctx, write.id, _accepted(write, entry))
            self._commit(call, path.ok_commit, status, None, connection)
        return response

    def _request(self, spec: CapabilitySpec, values: Mapping[str, Any]) -> BaseModel:
        """What the provider is given: the query in its one spelling (`normalised`)."""
        request_model = spec.request_model
        assert request_model is not None, f"{spec.id}: a tool query has a request model"
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

    def _check_policy(self, call: _Call, status: str) -> None:
        policy, tool = self.policy, call.spec.tool_name or ""
        allowed = policy.allowed_tools
        registered = call.spec.id in self.handlers.registry
        if not registered or (allowed is not None and tool not in allowed):
            self._fail(call, Role.FORBIDDEN_TOOL, status, f"tool {tool} is not allowed here")
        text = " ".join(str(v) for v in normalised(call.values).values()).casefold()
        if any(term.casefold() in text for term in policy.blocked_terms):
            self._fail(call, Role.POLICY_BLOCK, status, f"the query to {tool} is blocked by policy")
        url = call.values.get(call.path.fields.url)
        if isinstance(url, str) and not domain_allowed(url, policy.allowed_domains):
            self._fail(
                call, Role.FORBIDDEN_DOMAIN, status, f"{urlsplit(url).hostname} is not allowed"
            )
        budget = policy.budget_per_correlation
        if budget is not None and self._calls_so_far(call) >= budget:
            self._fail(call, Role.BUDGET_EXCEEDED, status, "the correlation's tool budget is spent")

    def _provide(self, call: _Call, model: type[BaseModel], status: str) -> BaseModel:
        handler = self.handlers.handler(call.spec)
        # The provider sees the request and who asks as far as the cache key says: the caller
        # class and the tenant, not the user, the device or the thread.
        asking = CallContext(call.ctx.runtime, call.ctx.caller, call.ctx.tenant_id)
        request = HandlerCall(call.request, asking, call.spec, self.clock(), None)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            answer = pool.submit(handler, request).result(timeout=self.policy.timeout_seconds)
        except concurrent.futures.TimeoutError:
            self._fail(call, Role.TIMEOUT, status, f"no answer in {self.policy.timeout_seconds} s")
        except ToolFailure as failure:
            self._fail(call, failure.role, status, str(failure))
        except Exception as error:  # a provider's bug must still end in an audited failure
            self._fail(call, Role.PROVIDER_ERROR, status, f"{type(error).__name__}: {error}")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        try:
            return answer if isinstance(answer, model) else model.model_validate(answer)
        except ValidationError as error:
            self._fail(call, Role.PROVIDER_ERROR, status, f"answer breaks the contract: {error}")

    # --- audit, replay ------------------------------------------------------------------

    def _commit(
        self,
        call: _Call,
        capability: str,
        status: str,
        code: str | None,
        connection: Connection | None = None,
    ) -> None:
        """The ok or fail audit row of a call, in `connection`'s transaction if given."""
        spec, names = self.capabilities[capability], call.path.fields
        fields = {
            **call.values,
            CLOCK_FIELD: self.clock(),
            names.tool_name: call.key[names.tool_name],
            names.query_hash: call.key[names.query_hash],
            names.status: status,
            names.fail_code: code,
            REASON_FIELD: code or call.path.reason_code,
        }
        row = _accepted(spec, fields)
        if connection is None:
            self.calls.invoke(call.ctx, capability, row)
        else:
            self.calls.invoke_within(connection, call.ctx, capability, row)

    def _fail(self, call: _Call, role: Role, status: str, message: str) -> NoReturn:
        code = self.refusals.code(call.spec, role)
        self._commit(call, call.path.fail_commit, status, code)
        raise ToolError(code, f"{call.spec.id}: {message}")

    def _earlier(self, call: _Call) -> Mapping[str, Any] | None:
        """The audit row of an earlier call with this idempotency key in this tenant's thread
        (a key is its tenant's own: another tenant's use of it is none of this call's)."""
        table = self.audit_table
        key = call.values.get(IDEMPOTENCY_FIELD)
        if table is None or key is None:
            return None
        query = sa.select(table).where(
            table.c[A.TENANT_ID] == call.ctx.tenant_id,  # IS NULL for the system scope
            table.c[A.CORRELATION_ID] == call.values.get(A.CORRELATION_ID),
            table.c[A.IDEMPOTENCY_KEY] == key,
        )
        with self.transactions.begin(read_only=True, spec=call.spec) as connection:
            row = connection.execute(query).mappings().first()
        return dict(row) if row is not None else None

    def _replay(self, call: _Call, earlier: Mapping[str, Any], model: type[BaseModel]) -> BaseModel:
        """A retry answers as the first call did, without running the tool again. A key the
        thread already used for another tool or another query is a conflict, not a retry."""
        recorded, names = earlier[A.PAYLOAD] or {}, call.path.fields
        tool, query_hash = call.key[names.tool_name], call.key[names.query_hash]
        if (
            recorded.get(names.tool_name) != tool
            or recorded.get(names.query_hash, query_hash) != query_hash
        ):
            raise ToolError(
                self.refusals.code(call.spec, Role.CONTRACT_VALIDATION),
                f"{call.spec.id}: the idempotency key was already used for another query",
            )
        fail_spec = self.capabilities[call.path.fail_commit]
        if earlier[A.EVENT_TYPE] == fail_spec.event_type:
            raise ToolError(earlier[A.REASON_CODE], f"{call.spec.id}: replay of a failed query")
        read = self.capabilities[call.path.cache_read]
        table = self.tables[read.table or ""]
        query = sa.select(table.c[names.payload]).where(
            *(table.c[column] == call.key[column] for column in read.lookup)
        )
        with self.transactions.begin(read_only=True, spec=call.spec) as connection:
            stored = connection.execute(query).scalar()
        if stored is None:
            raise ToolError(
                self.refusals.code(call.spec, Role.IDEMPOTENCY_REPLAY),
                f"{call.spec.id}: replay of an answer that was not cached",
            )
        return model.model_validate(stored)

    def _calls_so_far(self, call: _Call) -> int:
        table = self.audit_table
        assert table is not None
        types = [
            self.capabilities[c].event_type for c in (call.path.ok_commit, call.path.fail_commit)
        ]
        query = sa.select(sa.func.count()).where(
            table.c[A.CORRELATION_ID] == call.values.get(A.CORRELATION_ID),
            table.c[A.TENANT_ID] == call.ctx.tenant_id,
            table.c[A.ENGINE] == call.spec.engine_id,
            table.c[A.EVENT_TYPE].in_(types),
        )
        with self.transactions.begin(read_only=True, spec=call.spec) as connection:
            return int(connection.execute(query).scalar_one())


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
class _Call:
    ctx: CallContext
    spec: CapabilitySpec
    path: ToolPath
    values: Mapping[str, Any]
    key: Mapping[str, Any]
    request: BaseModel
    """What the provider is given."""
