"""What the catalog shows, read off the IR once for both renderings (HTML and Markdown):
per engine its capabilities with their fields, codes and audit keys, its tables and its
lifecycles; across engines who may call what and which engine owns or writes which table."""

from __future__ import annotations

from dataclasses import dataclass

from ecm_contract import Operation

from ecmc.ir import Capability, Engine, Lifecycle, Program, Table
from ecmc.resolve.shapes import returned_members
from ecmc.span import Span
from ecmc.typeref import Scalar, ScalarRef, TypeRef

_WRITES = frozenset(
    {
        Operation.AUDIT_APPEND,
        Operation.APPEND,
        Operation.UPSERT,
        Operation.TRANSITION,
        Operation.REBUILD,
    }
)


@dataclass(frozen=True, slots=True)
class FieldRow:
    name: str
    type: str
    bounds: str
    rule: str
    optional: bool
    span: Span


@dataclass(frozen=True, slots=True)
class CapabilityView:
    capability: Capability
    inputs: tuple[FieldRow, ...]
    outputs: tuple[FieldRow, ...]
    audit_keys: tuple[str, ...]
    operation: str

    @property
    def effects(self) -> str:
        effects = self.capability.side_effects
        if effects is None:
            return "?"
        return f"{effects.kind} {' + '.join(effects.effects)}".strip()


@dataclass(frozen=True, slots=True)
class EngineView:
    engine: Engine
    slug: str
    capabilities: tuple[CapabilityView, ...]
    tables: tuple[Table, ...]
    lifecycles: tuple[Lifecycle, ...]


@dataclass(frozen=True, slots=True)
class Site:
    engines: tuple[EngineView, ...]
    callers: tuple[str, ...]
    data_edges: tuple[tuple[str, str, str], ...]
    """(engine, owns | writes, table)."""
    tables: tuple[str, ...]


def site(program: Program) -> Site:
    bindings = {b.capability_id: b for b in program.bindings}
    views = []
    for engine in program.engines:
        capabilities = tuple(
            CapabilityView(
                cap,
                tuple(_field(m.name, m.type, m.optional, m.span) for m in cap.input_fields),
                _outputs(program, cap),
                tuple(dict.fromkeys(k.name for req in cap.audit for k in req.keys)),
                str(bindings[cap.id].operation) if cap.id in bindings else "handler",
            )
            for cap in engine.capabilities
        )
        views.append(
            EngineView(
                engine,
                slug(engine.engine_id),
                capabilities,
                tuple(t for t in program.tables if t.engine_id == engine.engine_id),
                tuple(lc for lc in program.lifecycles if lc.engine_id == engine.engine_id),
            )
        )
    edges: dict[tuple[str, str, str], None] = {}
    for table in program.tables:
        edges[(table.engine_id, "owns", table.name)] = None
    owner = {cap.id: e.engine_id for e in program.engines for cap in e.capabilities}
    for binding in program.bindings:
        if binding.operation in _WRITES and binding.table and binding.capability_id in owner:
            edge = (owner[binding.capability_id], "writes", binding.table)
            if (edge[0], "owns", edge[2]) not in edges:
                edges[edge] = None
    return Site(
        tuple(views),
        program.caller_classes,
        tuple(edges),
        tuple(t.name for t in program.tables),
    )


def _outputs(program: Program, cap: Capability) -> tuple[FieldRow, ...]:
    members = returned_members(program, cap.output.type) if cap.output else None
    return tuple(_field(m.name, m.type, m.optional, m.span) for m in members or () if m.name)


def slug(engine_id: str) -> str:
    return engine_id.lower().replace(".", "_")


def _field(name: str, ref: TypeRef, optional: bool, span: Span) -> FieldRow:
    if isinstance(ref, ScalarRef):
        return FieldRow(name, _base(ref.scalar), bounds(ref.scalar), ref.typed_by, optional, span)
    return FieldRow(name, ref.kind, "", "", optional, span)


def _base(scalar: Scalar) -> str:
    base = f"enum({' | '.join(scalar.labels)})" if scalar.labels else scalar.base
    return base + ("[]" if scalar.is_list else "")


def bounds(scalar: Scalar) -> str:
    parts = []
    if scalar.minimum is not None or scalar.maximum is not None:
        low = "" if scalar.minimum is None else str(scalar.minimum)
        high = "" if scalar.maximum is None else str(scalar.maximum)
        unit = "length " if scalar.base == "string" else ""
        parts.append(f"{unit}{low}..{high}")
    if scalar.max_bytes is not None:
        parts.append(f"at most {scalar.max_bytes} bytes")
    if scalar.string_min is not None or scalar.string_max is not None:
        parts.append(f"strings {scalar.string_min or ''}..{scalar.string_max or ''}")
    return ", ".join(parts)
