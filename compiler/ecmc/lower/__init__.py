"""Lowering: the resolved `Program` as the typed capability catalog (ecm_contract.catalog)
the generated package states and the runtime consumes. Every join of the IR (a capability
with its binding, its table's scope, its lifecycle, its engine's roles) is made here once."""
