"""A call, gated and run: the caller class (fail closed) and the call context first, then the
capability's operation: the team's handler, the tool path, or a storage operation in one
transaction (read-only unless the spec declares writes)."""

from __future__ import annotations

from collections.abc import Callable

import pydantic
from ecm_contract import Operation, Role

from ecm_runtime.admission import Admission
from ecm_runtime.call import Call
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext
from ecm_runtime.errors import CallerRefused, ContractViolation
from ecm_runtime.handlers import Handlers
from ecm_runtime.operations import Operations
from ecm_runtime.refusals import Refusals
from ecm_runtime.tools import ToolRunner
from ecm_runtime.transactions import Transactions


class Dispatch:
    def __init__(
        self,
        owner: object,
        admission: Admission,
        refusals: Refusals,
        handlers: Handlers,
        tools: ToolRunner,
        operations: Operations,
        transactions: Transactions,
        clock: Callable[[], int],
    ) -> None:
        self.owner = owner
        """The runtime whose contexts these calls must come with."""
        self.admission, self.refusals = admission, refusals
        self.handlers, self.tools, self.operations = handlers, tools, operations
        self.transactions, self.clock = transactions, clock

    def gate(self, ctx: CallContext, spec: CapabilitySpec) -> None:
        if ctx.runtime is not self.owner:
            raise CallerRefused(
                self.refusals.code(spec, Role.CALLER_REFUSED), "context of another runtime"
            )
        if ctx.caller not in spec.callers:
            raise CallerRefused(
                self.refusals.code(spec, Role.CALLER_REFUSED),
                f"{spec.id} admits {', '.join(spec.callers) or 'no caller'} "
                f"({spec.allowed_callers}), not {ctx.caller!r}",
            )
        self.admission.context(ctx, spec)

    def run(self, ctx: CallContext, spec: CapabilitySpec, payload: pydantic.BaseModel) -> object:
        """Run a gated call with its validated input: its operation."""
        call = Call.of(ctx, spec, payload, self.clock)
        if spec.operation == Operation.HANDLER:
            return self.handlers.run(call)
        if spec.operation == Operation.TOOL_QUERY and spec.tool_path is not None:
            return self.tools.run(call)
        if spec.operation == Operation.TOOL_QUERY:
            raise ContractViolation(
                self.refusals.code(spec, Role.CONTRACT_VALIDATION),
                f"{spec.id} has no storage operation in its wiring",
            )
        with self.transactions.begin(read_only=not spec.writes, spec=spec) as connection:
            return self.operations.run(connection, call)
