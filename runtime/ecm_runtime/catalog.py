"""What the generated package tells the runtime about each capability: its catalog entry
(ecm_contract.catalog.Capability) with the models generated for it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ecm_contract.catalog import Capability
from pydantic import BaseModel


@dataclass(frozen=True, kw_only=True)
class CapabilitySpec(Capability):
    """A capability with its generated models; `contract()` is its catalog entry alone."""

    input_model: type[BaseModel]
    output_model: type[BaseModel] | None = None
    """The model of what a call returns, when that is a record (not a scalar or nothing)."""
    request_model: type[BaseModel] | None = None
    """What a tool query's provider is given: the input without the fields its cache key
    leaves out (ecm_contract.TOOL_REQUEST_OMITS)."""
    returns: Any = None
    """A handler's output type (a model, a generated alias, `tuple[...]`): what its answer is
    validated against; None: it returns nothing."""
    method: str | None = None
    """A handler's method name in its engine's generated `Handlers` protocol."""

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of the input, built on first use and kept."""
        return self.input_model.model_json_schema()
