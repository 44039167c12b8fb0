"""`engines/<engine>.py`: reason codes, models, capability specs, typed wrappers and, for
engines with tool queries, the provider protocol.
"""

from __future__ import annotations

from collections.abc import Mapping

from ecm_contract import TOOL_REQUEST_OMITS, Operation

from ecmc.emit.catalog_parts import event_types_view, lifecycle_view, tool_path_view
from ecmc.emit.imports import Imports
from ecmc.emit.layout import (
    INDENT,
    Atom,
    Expr,
    Group,
    call,
    dict_of,
    flat,
    literal,
    prefixed,
    render,
    tuple_of,
)
from ecmc.emit.literals import GENERATED_NOTE, comment, pyrepr, source_line
from ecmc.emit.models import Annotator
from ecmc.emit.names import PythonIdentifier, capability_prefix, pascal, snake
from ecmc.emit.package_names import PackageNames
from ecmc.emit.wrappers import WRAPPED, handler_wrapper, storage_wrapper
from ecmc.ir import Capability, CapabilityBinding, Engine, Program, Record, TypeRef
from ecmc.resolve.shapes import map_key_fields, output_row
from ecmc.typeref import (
    InlineRecordRef,
    RecordRef,
    ResultRef,
    ScalarRef,
    TupleRef,
    UnionRef,
    UnitRef,
)


def engine_view(
    program: Program, engine: Engine, names: PackageNames, package: str
) -> dict[str, object]:
    return _EngineModule(program, engine, names, package).view()


class _EngineModule:
    """One engine module being emitted: its catalog entries, wrappers and tool methods."""

    def __init__(self, program: Program, engine: Engine, names: PackageNames, package: str):
        self.program, self.engine, self.names, self.package = program, engine, names, package
        self.imports = imports = Imports(package, future=True)
        self.annotator = Annotator(names, imports, in_records=False)
        if engine.engine_id in {engine_id for engine_id, _ in program.enum_reason_codes}:
            self.annotator.reason_enum = "ReasonCode"
        self.prefix = capability_prefix([c.id for c in engine.capabilities])
        self.roles = [r for r in program.reason_code_roles if r.engine_id == engine.engine_id]
        self.bindings = {b.capability_id: b for b in program.bindings}
        self.scopes = {t.name: t.scope for t in program.tables}
        wiring_codes = program.wiring_reason_codes
        self.own_codes = [
            *engine.reason_codes,
            *(rc for engine_id, rc in wiring_codes if engine_id == engine.engine_id),
        ]
        self.declared = [rc.code for rc in self.own_codes]
        self.lifecycles = [lc for lc in program.lifecycles if lc.engine_id == engine.engine_id]
        self.lifecycle_constants = {
            lc.ledger or "": PythonIdentifier(f"{snake(lc.name).upper()}_LIFECYCLE")
            for lc in self.lifecycles
        }
        # The codes most capabilities carry: the engine's own and its roles', stated once.
        self.shared_codes = tuple(dict.fromkeys([*self.declared, *(r.code for r in self.roles)]))
        self.uses_shared_codes = False
        self.capabilities: list[dict[str, str]] = []
        self.wrappers: list[dict[str, str]] = []
        self.tools: list[str] = []
        self.handlers: list[str] = []

    def view(self) -> dict[str, object]:
        for cap in self.engine.capabilities:
            self.capability(cap)
        engine, imports, program = self.engine, self.imports, self.program
        tool_path = next((p for p in program.tool_paths if p.engine_id == engine.engine_id), None)
        capability_spec = imports.name("ecm_runtime.catalog", "CapabilitySpec")
        return {
            "package": self.package,
            "engine_id": pyrepr(engine.engine_id),
            "doc": self.doc(),
            "source": source_line(engine.span),
            "reason_codes": [
                {
                    "code": f"{PythonIdentifier(rc.code)} = {pyrepr(rc.code)}",
                    "source": source_line(rc.span),
                    "description": comment(rc.description),
                }
                for rc in self.own_codes
            ],
            "roles": render(
                prefixed(
                    "REASON_CODE_ROLES: dict[str, str] = ",
                    dict_of([(pyrepr(r.role), pyrepr(r.code)) for r in self.roles]),
                )
            ),
            "models": self.annotator.models,
            "lifecycles": [
                lifecycle_view(lc, self.lifecycle_constants[lc.ledger or ""], imports)
                for lc in self.lifecycles
            ],
            "capabilities": self.capabilities,
            "wrappers": self.wrappers,
            "tool_path": tool_path_view(tool_path, imports) if tool_path else None,
            "event_types": event_types_view(program, engine, imports),
            "reason_code_tuple": render(
                prefixed("REASON_CODES: tuple[str, ...] = ", literal(self.shared_codes))
            )
            if self.uses_shared_codes
            else "",
            "tools": self.tools,
            "tool_protocol": f"{imports.module('typing', 't')}.Protocol" if self.tools else "",
            "handlers": self.handlers,
            "handler_protocol": f"{imports.module('typing', 't')}.Protocol"
            if self.handlers
            else "",
            "catalog": render(
                prefixed(
                    f"CAPABILITIES: tuple[{capability_spec}, ...] = ",
                    tuple_of(*(c["constant"] for c in self.capabilities)),
                )
            ),
            "enum": imports.module("enum", "enum") if self.own_codes else "",
            "imports": imports,
        }

    def doc(self) -> str:
        engine = self.engine
        notes = [
            f"{note.title}:\n" + "\n".join(f"  {line}" for line in note.lines)
            for note in engine.notes
        ]
        return "\n\n".join(
            [
                f"{engine.engine_id}: {engine.purpose or engine.title}",
                *notes,
                f"Source: {engine.source}. {GENERATED_NOTE}",
            ]
        )

    def capability(self, cap: Capability) -> None:
        """The capability's catalog entry, and its wrapper or tool method when it has one."""
        stem = cap.id[len(self.prefix) :] if self.prefix else cap.id
        source = source_line(cap.span)
        binding = self.bindings.get(cap.id)
        operation = binding.operation if binding else Operation.HANDLER
        returns = None
        if operation is Operation.HANDLER:
            input_model = _input_model(cap, stem, self.annotator, source)
            output_type = cap.output.type if cap.output else UnitRef(cap.span)
            returns = self.annotator.annotation(output_type, stem, "output", source)
            output_model = returns if _is_model(output_type, self.names.records) else "None"
        else:
            input_model, output_model = _io_models(cap, stem, self.annotator, source)
        arguments = self.spec_arguments(cap, binding, input_model, output_model, source)
        if returns is not None:
            arguments += [("returns", returns), ("method", pyrepr(snake(stem)))]
        request_model = None
        if binding is not None and binding.operation is Operation.TOOL_QUERY:
            request_model = _request_model(cap, stem, self.annotator, source)
            arguments.append(("request_model", request_model))
        stated = [(k, v) for k, v in arguments if k in _REQUIRED or _flat(v) not in _DEFAULTS]
        constructor = self.imports.name("ecm_runtime.catalog", "CapabilitySpec")
        spec = call(constructor, *(prefixed(f"{k}=", v) for k, v in stated))
        constant = PythonIdentifier(f"{snake(stem).upper()}_SPEC")
        self.capabilities.append(
            {
                "source": source,
                "constant": constant,
                "code": render(prefixed(f"{constant} = ", spec)),
            }
        )
        if returns is not None:
            self.handler(cap, stem, constant, input_model, returns, source)
            return
        assert binding is not None
        if binding.operation is Operation.TOOL_QUERY and binding.tool_name:
            method = Group(
                f"def {snake(binding.tool_name)}",
                "(",
                (Atom("self"), Atom(f"request: {request_model}")),
                ")",
            )
            self.tools.append(render(method, INDENT, f" -> {output_model}: ..."))
        if binding.operation in WRAPPED:
            self.wrappers.append(
                storage_wrapper(
                    cap,
                    stem,
                    binding.operation,
                    constant,
                    (input_model, output_model),
                    source,
                    self.imports,
                    self.scopes.get(binding.table or ""),
                )
            )

    def handler(
        self, cap: Capability, stem: str, constant: str, input_model: str, returns: str, source: str
    ) -> None:
        """A handler capability's method in the engine's Handlers protocol, and its wrapper."""
        handler_call = self.imports.name("ecm_runtime.handlers", "HandlerCall")
        method = Group(
            f"def {snake(stem)}",
            "(",
            (Atom("self"), Atom(f"call: {handler_call}[{input_model}]")),
            ")",
        )
        self.handlers.append(render(method, INDENT, f" -> {returns}: ..."))
        self.wrappers.append(
            handler_wrapper(cap, stem, constant, (input_model, returns), source, self.imports)
        )

    def spec_arguments(
        self,
        cap: Capability,
        binding: CapabilityBinding | None,
        input_model: str,
        output_model: str,
        source: str,
    ) -> list[tuple[str, Expr | str]]:
        """Every CapabilitySpec argument, in field order; defaults are dropped by the caller."""
        codes = tuple(
            dict.fromkeys([*(cap.reason_codes or self.declared), *(r.code for r in self.roles)])
        )
        shared = codes == self.shared_codes
        self.uses_shared_codes = self.uses_shared_codes or shared
        operation = binding.operation if binding else Operation.HANDLER
        lifecycle = "None"
        if binding is not None and operation is Operation.TRANSITION:
            lifecycle = self.lifecycle_constants.get(binding.table or "", "None")
        output_type = cap.output.type if cap.output else None
        return [
            ("id", pyrepr(cap.id)),
            ("engine_id", "ENGINE_ID"),
            ("name", pyrepr(cap.name or cap.id)),
            ("allowed_callers", pyrepr(cap.allowed_callers or "")),
            ("callers", literal(cap.callers)),
            ("side_effects", pyrepr(str(cap.side_effects.kind) if cap.side_effects else "")),
            ("effects", literal(cap.side_effects.effects if cap.side_effects else ())),
            ("input_model", input_model),
            ("output_model", output_model),
            ("output", pyrepr(cap.output.text if cap.output else "")),
            ("reason_codes", "REASON_CODES" if shared else literal(codes)),
            ("audit", self.audit_rules(cap)),
            ("operation", pyrepr(str(operation) if operation else None)),
            ("table", pyrepr(binding.table if binding else None)),
            ("lookup", literal(binding.lookup if binding else ())),
            ("order_by", literal(binding.order_by if binding else ())),
            ("fill", literal(binding.fill if binding else ())),
            ("event_type", pyrepr(binding.event_type if binding else None)),
            ("audit_payload", literal(binding.payload if binding else ())),
            ("success_reason_code", pyrepr(binding.reason_code if binding else None)),
            ("engine_column", pyrepr(binding.engine_column if binding else None)),
            ("cursor", literal(binding.cursor if binding else ())),
            ("limit", pyrepr(binding.limit if binding else None)),
            ("map_key", literal(map_key_fields(output_type, self.names.records))),
            ("tool_name", pyrepr(binding.tool_name if binding else None)),
            ("tool_path", "TOOL_PATH" if operation is Operation.TOOL_QUERY else "None"),
            ("lifecycle", lifecycle),
            ("source", pyrepr(source)),
            ("extras", literal(cap.extras)),
            ("severity", pyrepr(binding.severity if binding else None)),
            ("scope", pyrepr(self.scope_of(binding))),
            ("variant_by", pyrepr(variant_field(cap))),
        ]

    def scope_of(self, binding: CapabilityBinding | None) -> str | None:
        scope = self.scopes.get(binding.table or "") if binding else None
        return str(scope) if scope else None

    def audit_rules(self, cap: Capability) -> Expr:
        if not cap.audit:
            return Atom("()")
        rule = self.imports.name("ecm_runtime.catalog", "AuditRule")
        return tuple_of(
            *(
                call(rule, pyrepr(req.mode), literal(tuple(k.name for k in req.keys)))
                for req in cap.audit
            )
        )


def variant_field(cap: Capability) -> str | None:
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


def _is_model(ref: TypeRef, records: Mapping[str, Record]) -> bool:
    """Whether an output is one model (a record with fields, or inline fields)."""
    if isinstance(ref, ResultRef):
        return _is_model(ref.ok, records)
    if isinstance(ref, RecordRef):
        return ref.name in records and records[ref.name].alias_of is None
    return isinstance(ref, TupleRef | InlineRecordRef) and any(m.name for m in ref.members)


def _input_model(cap: Capability, stem: str, annotator: Annotator, source: str) -> str:
    return _io_models(cap, stem, annotator, source, inputs_only=True)[0]


def _request_model(cap: Capability, stem: str, annotator: Annotator, source: str) -> str:
    """What a tool query's provider sees: its input but for the fields the cache key omits."""
    fields = tuple(m for m in cap.input_fields if m.name not in TOOL_REQUEST_OMITS)
    doc = f"What the provider of {cap.id} is given: the query its cached answer is keyed by."
    return annotator.model(pascal(stem, "request"), doc, fields, source, is_input=True).name


def _io_models(
    cap: Capability, stem: str, annotator: Annotator, source: str, inputs_only: bool = False
) -> tuple[str, str]:
    """The input model (always a model) and the output model (`None` unless it is one)."""
    title = cap.name or cap.id
    records = annotator.names.records
    input_ref = cap.input.type if cap.input else UnitRef(cap.span)
    whole_record = (
        isinstance(input_ref, RecordRef)
        and input_ref.name in records
        and records[input_ref.name].alias_of is None
    )
    if whole_record:
        input_model = annotator.annotation(input_ref, stem, "", source)
    else:
        doc = f"Input of {cap.id}: {title}."
        fields = cap.input_fields
        input_model = annotator.model(
            pascal(stem, "input"), doc, fields, source, is_input=True
        ).name
    row = output_row(cap.output.type if cap.output else None, records)
    if row is None or inputs_only:
        return input_model, "None"
    if isinstance(row, RecordRef):
        return input_model, annotator.annotation(row, stem, "", source)
    doc = f"Output of {cap.id}: {title}."
    return input_model, annotator.model(pascal(stem, "output"), doc, row.members, source).name


# CapabilitySpec fields without a default; every other field is stated only when it differs.
_REQUIRED = frozenset(
    {
        "id",
        "engine_id",
        "name",
        "allowed_callers",
        "callers",
        "side_effects",
        "input_model",
        "reason_codes",
        "source",
    }
)
_DEFAULTS = frozenset({"None", "()", '""'})


def _flat(value: Expr | str) -> str:
    return value if isinstance(value, str) else flat(value)
