"""The lifecycle mapping is the one truth for which transition a capability runs: each
action names its capability, and the runtime looks the step up by the capability's id. So a
capability bound to `transition` that no action of its ledger's lifecycle names would be
refused on every call, and a variant whose own `action` says another step would mislead every
reader: both are errors."""

from __future__ import annotations

from ecm_contract import Operation

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.ir import Program
from ecmc.typeref import RecordRef


def check_lifecycle_mapping(program: Program, diagnostics: Diagnostics) -> None:
    by_ledger = {lc.ledger: lc for lc in program.lifecycles if lc.ledger}
    records = {r.name: r for r in program.records}
    capabilities = {c.id: c for e in program.engines for c in e.capabilities}
    for binding in program.bindings:
        if binding.operation is not Operation.TRANSITION:
            continue
        lifecycle = by_ledger.get(binding.table or "")
        if lifecycle is None:
            continue  # the binding's own check reports a transition without a lifecycle
        steps = [t for t in lifecycle.transitions if t.capability_id == binding.capability_id]
        if len(steps) != 1:
            diagnostics.report(
                Code.BAD_TRANSITION,
                binding.span,
                f"{binding.capability_id} is bound to a transition of lifecycle "
                f"{lifecycle.name}, but {len(steps) or 'none'} of its actions name it: exactly "
                "one action's 'capability' must, for the runtime to know which step it runs",
            )
            continue
        capability = capabilities.get(binding.capability_id)
        given = capability.input.type if capability and capability.input else None
        if not isinstance(given, RecordRef) or given.variant is None:
            continue
        record = records.get(given.name)
        variant = (
            next((v for v in record.variants if v.name == given.variant), None) if record else None
        )
        said = dict(variant.attributes).get("action") if variant else None
        if variant is not None and said is not None and said != steps[0].action:
            diagnostics.report(
                Code.BAD_TRANSITION,
                variant.span,
                f"variant {given.name}::{given.variant} says action {said!r}, but lifecycle "
                f"{lifecycle.name} maps {binding.capability_id} to {steps[0].action!r}: the "
                "lifecycle's mapping is what runs; make them agree",
            )
