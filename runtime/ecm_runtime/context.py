"""A call context: who calls, for which tenant, in which correlation thread.

A context is bound to the runtime that made it, so typed wrappers need nothing else. A context
without a tenant is a system context: its scope is the rows that belong to no tenant, so it
never reads or writes a tenant's rows (docs/runtime-contracts.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

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

    def write(self, spec: CapabilitySpec, payload: BaseModel) -> Written:
        result = self.runtime.execute(self, spec, payload)
        assert isinstance(result, Written)
        return result

    def read_one(self, spec: CapabilitySpec, payload: BaseModel, model: type[M]) -> M | None:
        result = self.runtime.execute(self, spec, payload)
        assert result is None or isinstance(result, model)
        return result

    def read_many(self, spec: CapabilitySpec, payload: BaseModel, model: type[M]) -> tuple[M, ...]:
        result = self.runtime.execute(self, spec, payload)
        assert isinstance(result, tuple)
        return tuple(item for item in result if isinstance(item, model))

    def read_map(
        self, spec: CapabilitySpec, payload: BaseModel, model: type[M]
    ) -> dict[tuple[object, ...], M]:
        result = self.runtime.execute(self, spec, payload)
        assert isinstance(result, Mapping)
        return {key: value for key, value in result.items() if isinstance(value, model)}

    def transition(self, spec: CapabilitySpec, payload: BaseModel, model: type[M]) -> M:
        result = self.runtime.execute(self, spec, payload)
        assert isinstance(result, model)
        return result

    def rebuild(self, spec: CapabilitySpec, payload: BaseModel) -> None:
        self.runtime.execute(self, spec, payload)

    def handle(self, spec: CapabilitySpec, payload: BaseModel) -> object:
        """Run a handler capability; its answer was validated against `spec.returns`."""
        return self.runtime.execute(self, spec, payload)
