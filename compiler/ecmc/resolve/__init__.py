"""Stage 4, resolve: the syntax of every spec in, one `ecmc.ir.Program` out.

`program.resolve_program` runs the companion kinds in a fixed order, one module each: the
field `dictionary`, `callers`, `records`, `tables`, `lifecycles`, `wiring` (reason codes,
roles, the tool path), `audit_events` and capability `bindings`; `engine` lowers each ECM spec
(with `prose` schemas and `audit_rules`); `types` resolves type expressions against the
dictionary and the records; `shapes` says what a capability's input and output are as fields.
Problems become diagnostics; the rules that look across specs run in `ecmc.check`.
"""
