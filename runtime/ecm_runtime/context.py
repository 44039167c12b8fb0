"""A call context: who calls, for which tenant, in which correlation thread.

A context is bound to the runtime that made it, so typed wrappers need nothing else. A context
without a tenant is a system context: its scope is the rows that belong to no tenant, so it
never reads or writes a tenant's rows (docs/runtime-contracts.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from ecm_contract.invariants import of_type
from pydantic import BaseModel

from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.results import Written

M = TypeVar("M", bound=BaseModel)


class Executor(Protocol):
    """What a context calls through: the runtime that made it."""

    def execute(self, ctx: CallContext, spec: CapabilitySpec, payload: BaseModel) -> object:
        """Gate and run a capability with an already-built input model."""


@dataclass(frozen=True)
class CallContext:
    runtime: Executor
    caller: str
    """The caller class, checked against each capability's allowed callers."""
    tenant_id: str | None
    """The tenant every read and write is confined to; None: the system scope."""
    correlation_id: int = 0
    turn_id: int = 0
    session_id: str | None = None
    user_id: str | None = None
    device_id: str | None = None
    work_order_id: str | None = None

    # One method per answer shape (ecm_contract.Answer): the typed wrappers call them.

    def write(self, spec: CapabilitySpec, payload: BaseModel) -> Written:
        return of_type(self.runtime.execute(self, spec, payload), Written, _answer(spec))

    def one(self, spec: CapabilitySpec, payload: BaseModel, model: type[M]) -> M:
        return of_type(self.runtime.execute(self, spec, payload), model, _answer(spec))

    def one_or_none(self, spec: CapabilitySpec, payload: BaseModel, model: type[M]) -> M | None:
        result = self.runtime.execute(self, spec, payload)
        return None if result is None else of_type(result, model, _answer(spec))

    def many(self, spec: CapabilitySpec, payload: BaseModel, model: type[M]) -> tuple[M, ...]:
        result = of_type(self.runtime.execute(self, spec, payload), tuple, _answer(spec))
        return tuple(of_type(item, model, _answer(spec)) for item in result)

    def mapped(
        self, spec: CapabilitySpec, payload: BaseModel, model: type[M]
    ) -> dict[tuple[object, ...], M]:
        result = of_type(self.runtime.execute(self, spec, payload), dict, _answer(spec))
        return {key: of_type(value, model, _answer(spec)) for key, value in result.items()}

    def run(self, spec: CapabilitySpec, payload: BaseModel) -> None:
        self.runtime.execute(self, spec, payload)

    def handle(self, spec: CapabilitySpec, payload: BaseModel) -> object:
        """Run a handler capability; its answer was validated against `spec.returns`."""
        return self.runtime.execute(self, spec, payload)


def _answer(spec: CapabilitySpec) -> str:
    return f"{spec.id}: the answer of its {spec.operation} operation"
