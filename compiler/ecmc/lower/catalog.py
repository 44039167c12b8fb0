"""`Program -> Catalog`: each capability joined with its binding, table, lifecycle and
engine, in the contract's types; each engine with its roles, event types, lifecycles and
tool path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TypeVar

from ecm_contract import Effect, Operation, Role, Scope, SideEffects
from ecm_contract.catalog import (
    AuditEventType,
    AuditRule,
    Capability,
    Catalog,
    EngineContract,
    Lifecycle,
    Severity,
    ToolPath,
    Transition,
)

from ecmc import ir
from ecmc.resolve.shapes import map_key_fields
from ecmc.typeref import ResultRef, ScalarRef, UnionRef

T = TypeVar("T")


def lower(program: ir.Program) -> Catalog:
    engines = [_Engine(program, engine) for engine in program.engines]
    return Catalog(
        engines=tuple(e.contract for e in engines),
        capabilities=tuple(cap for e in engines for cap in e.capabilities()),
    )


class _Engine:
    """One engine's joins: its declared codes, roles, lifecycles and bindings."""

    def __init__(self, program: ir.Program, engine: ir.Engine) -> None:
        self.program, self.engine = program, engine
        engine_id = engine.engine_id
        own = [rc.code for rc in engine.reason_codes]
        own += [rc.code for eid, rc in program.wiring_reason_codes if eid == engine_id]
        roles = tuple(
            (Role(r.role), r.code) for r in program.reason_code_roles if r.engine_id == engine_id
        )
        self.declared = tuple(own)
        self.role_codes = tuple(code for _, code in roles)
        self.lifecycles = {
            lc.ledger or "": lower_lifecycle(lc)
            for lc in program.lifecycles
            if lc.engine_id == engine_id
        }
        path = next((p for p in program.tool_paths if p.engine_id == engine_id), None)
        self.tool_path = lower_tool_path(path) if path is not None else None
        self.contract = EngineContract(
            engine_id=engine_id,
            reason_codes=self.declared,
            roles=roles,
            event_types=tuple(
                lower_event_type(t) for t in program.audit_event_types if t.engine_id == engine_id
            ),
            lifecycles=tuple(self.lifecycles.values()),
            tool_path=self.tool_path,
        )

    def capabilities(self) -> list[Capability]:
        bindings = {b.capability_id: b for b in self.program.bindings}
        scopes = {t.name: t.scope for t in self.program.tables}
        records = {r.name: r for r in self.program.records}
        return [
            self.capability(cap, bindings.get(cap.id), scopes, records)
            for cap in self.engine.capabilities
        ]

    def capability(
        self,
        cap: ir.Capability,
        binding: ir.CapabilityBinding | None,
        scopes: Mapping[str, Scope | None],
        records: Mapping[str, ir.Record],
    ) -> Capability:
        operation = binding.operation if binding else Operation.HANDLER
        codes = dict.fromkeys([*(cap.reason_codes or self.declared), *self.role_codes])
        effects = cap.side_effects
        table = binding.table if binding else None
        return Capability(
            id=cap.id,
            engine_id=self.engine.engine_id,
            name=cap.name or cap.id,
            allowed_callers=cap.allowed_callers or "",
            callers=cap.callers,
            side_effects=SideEffects(effects.kind) if effects else SideEffects.NONE,
            reason_codes=tuple(codes),
            source=f"{cap.span.path}:{cap.span.line}",
            effects=tuple(Effect(e) for e in effects.effects) if effects else (),
            output=cap.output.text if cap.output else "",
            audit=tuple(
                AuditRule(mode=req.mode, keys=tuple(k.name for k in req.keys)) for req in cap.audit
            ),
            operation=operation,
            table=table,
            lookup=binding.lookup if binding else (),
            order_by=binding.order_by if binding else (),
            fill=binding.fill if binding else (),
            event_type=binding.event_type if binding else None,
            audit_payload=binding.payload if binding else (),
            success_reason_code=binding.reason_code if binding else None,
            engine_column=binding.engine_column if binding else None,
            cursor=binding.cursor if binding else (),
            limit=binding.limit if binding else None,
            map_key=map_key_fields(cap.output.type if cap.output else None, records),
            lifecycle=self.lifecycles.get(table or "")
            if operation is Operation.TRANSITION
            else None,
            tool_name=binding.tool_name if binding else None,
            tool_path=self.tool_path if operation is Operation.TOOL_QUERY else None,
            extras=cap.extras,
            severity=Severity(binding.severity) if binding and binding.severity else None,
            scope=scopes.get(table) if table else None,
            variant_by=variant_field(cap),
        )


def variant_field(cap: ir.Capability) -> str | None:
    """The input field whose value names the variant of a union output an answer must be:
    the one enum field whose labels hold every variant's label."""
    output = cap.output.type if cap.output else None
    if isinstance(output, ResultRef):
        output = output.ok
    if not isinstance(output, UnionRef):
        return None
    naming = [
        m.name
        for m in cap.input_fields
        if isinstance(m.type, ScalarRef)
        and m.type.scalar.base == "enum"
        and set(output.labels) <= set(m.type.scalar.labels)
    ]
    return naming[0] if len(naming) == 1 else None


def lower_event_type(event_type: ir.AuditEventType) -> AuditEventType:
    severity = Severity(event_type.severity) if event_type.severity else None
    return _same_fields(AuditEventType, event_type, severity=severity)


def lower_tool_path(path: ir.ToolPath) -> ToolPath:
    return _same_fields(ToolPath, path)


def lower_lifecycle(lifecycle: ir.Lifecycle) -> Lifecycle:
    transitions = tuple(_same_fields(Transition, t) for t in lifecycle.transitions)
    return _same_fields(Lifecycle, lifecycle, transitions=transitions)


def _same_fields(kind: type[T], source: object, **lowered: object) -> T:
    """A catalog object from the IR object that has its fields by the same names (the IR's
    spans and descriptions stay behind), with the fields `lowered` gives in their types."""
    given = {f.name: getattr(source, f.name) for f in fields(kind)}  # type: ignore[arg-type]
    return kind(**{**given, **lowered})
