"""Stage 4a, lower: the resolved `Program` in, the typed capability catalog
(ecm_contract.catalog) out: what the generated package states and the runtime consumes. Every
join of the IR (a capability with its binding, its table's scope, its lifecycle, its engine's
roles) is made here once."""
