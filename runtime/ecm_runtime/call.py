"""One capability call's data, as every layer takes it: who asks, which capability, the
validated input (as its model and by its spec names) and the call's time.

The transaction it runs in travels beside it, always as the first argument: a storage call
runs in one, a handler's call in up to three (its claim, its own work, its audit row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ecm_contract import CLOCK_FIELD
from pydantic import BaseModel

from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext


@dataclass(frozen=True, slots=True)
class Call:
    ctx: CallContext
    spec: CapabilitySpec
    payload: BaseModel
    values: Mapping[str, Any]
    """The input by its spec names."""
    now: int
    """The input's time when it gives one (`CLOCK_FIELD`), else the runtime's at the call."""

    @classmethod
    def of(
        cls, ctx: CallContext, spec: CapabilitySpec, payload: BaseModel, clock: Callable[[], int]
    ) -> Call:
        values = payload.model_dump(by_alias=True)
        given = values.get(CLOCK_FIELD)
        return cls(ctx, spec, payload, values, given if isinstance(given, int) else clock())

    def seeing(self, more: Mapping[str, Any]) -> Call:
        """The call with more fields beside its input (a handler's answer, for its audit
        row): the input's own names are overridden by them."""
        return replace(self, values={**self.values, **more})
