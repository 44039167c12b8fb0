"""`engines/<engine>.py`: reason codes, models, capability specs, typed wrappers and, for
engines with tool queries, the provider protocol.
"""

from __future__ import annotations

from collections.abc import Mapping

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
from ecmc.ir import Capability, Engine, Lifecycle, Program, ToolPath, TypeRef
from ecmc.resolve.shapes import map_key_fields, output_row


def engine_view(
    program: Program, engine: Engine, names: PackageNames, package: str
) -> dict[str, object]:
    imports = Imports(package, future=True)
    capability_spec = imports.name("ecm_runtime.catalog", "CapabilitySpec")
    records = names.records
    scopes = {t.name: t.scope for t in program.tables}
    annotator = Annotator(names, imports, in_records=False)
    prefix = capability_prefix([c.id for c in engine.capabilities])
    roles = [r for r in program.reason_code_roles if r.engine_id == engine.engine_id]
    bindings = {b.capability_id: b for b in program.bindings}
    own_codes = [
        *engine.reason_codes,
        *(rc for engine_id, rc in program.wiring_reason_codes if engine_id == engine.engine_id),
    ]
    declared = [rc.code for rc in own_codes]
    lifecycles = [lc for lc in program.lifecycles if lc.engine_id == engine.engine_id]
    lifecycle_constants = {
        lc.ledger or "": PythonIdentifier(f"{snake(lc.name).upper()}_LIFECYCLE")
        for lc in lifecycles
    }
    # The codes most capabilities carry: the engine's own and its roles', stated once.
    shared_codes = tuple(dict.fromkeys([*declared, *(r.code for r in roles)]))
    uses_shared_codes = False
    capabilities = []
    wrappers = []
    tools: list[str] = []
    tool_path = next((p for p in program.tool_paths if p.engine_id == engine.engine_id), None)
    for cap in engine.capabilities:
        stem = cap.id[len(prefix) :] if prefix else cap.id
        source = source_line(cap.span)
        input_model, output_model = _io_models(cap, stem, annotator, source)
        binding = bindings.get(cap.id)
        codes = list(dict.fromkeys([*(cap.reason_codes or declared), *(r.code for r in roles)]))
        audit = (
            tuple_of(
                *(
                    call(
                        imports.name("ecm_runtime.catalog", "AuditRule"),
                        pyrepr(req.mode),
                        literal(tuple(k.name for k in req.keys)),
                    )
                    for req in cap.audit
                )
            )
            if cap.audit
            else Atom("()")
        )
        arguments: list[tuple[str, Expr | str]] = [
            ("id", pyrepr(cap.id)),
            ("engine_id", "ENGINE_ID"),
            ("name", pyrepr(cap.name or cap.id)),
            ("allowed_callers", pyrepr(cap.allowed_callers or "")),
            ("callers", literal(cap.callers)),
            ("side_effects", pyrepr(cap.side_effects.kind if cap.side_effects else "")),
            ("effects", literal(cap.side_effects.effects if cap.side_effects else ())),
            ("input_model", input_model),
            ("output_model", output_model),
            ("output", pyrepr(cap.output.text if cap.output else "")),
            (
                "reason_codes",
                "REASON_CODES" if tuple(codes) == shared_codes else literal(tuple(codes)),
            ),
            ("audit", audit),
            ("operation", pyrepr(binding.operation if binding else None)),
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
            ("map_key", literal(map_key_fields(cap.output.type if cap.output else None, records))),
            ("tool_name", pyrepr(binding.tool_name if binding else None)),
            ("tool_path", "TOOL_PATH" if binding and binding.operation == "tool_query" else "None"),
            (
                "lifecycle",
                lifecycle_constants.get(binding.table or "", "None")
                if binding and binding.operation == "transition"
                else "None",
            ),
            ("source", pyrepr(source)),
            ("extras", literal(cap.extras)),
            ("severity", pyrepr(binding.severity if binding else None)),
            ("scope", pyrepr(scopes.get(binding.table or "") if binding else None)),
        ]
        stated = [(k, v) for k, v in arguments if k in _REQUIRED or _flat(v) not in _DEFAULTS]
        uses_shared_codes = uses_shared_codes or tuple(codes) == shared_codes
        spec = call(capability_spec, *(prefixed(f"{k}=", v) for k, v in stated))
        constant = PythonIdentifier(f"{snake(stem).upper()}_SPEC")
        capabilities.append(
            {
                "source": source,
                "constant": constant,
                "code": render(prefixed(f"{constant} = ", spec)),
            }
        )
        if binding is not None and binding.operation == "tool_query" and binding.tool_name:
            method = Group(
                f"def {snake(binding.tool_name)}",
                "(",
                (Atom("self"), Atom(f"request: {input_model}")),
                ")",
            )
            tools.append(render(method, INDENT, f" -> {output_model}: ..."))
        if binding is not None and binding.operation in _WRAPPED:
            wrappers.append(
                _wrapper(
                    cap,
                    stem,
                    binding.operation,
                    constant,
                    input_model,
                    output_model,
                    source,
                    imports,
                    scopes.get(binding.table or ""),
                )
            )
    notes = [
        f"{note.title}:\n" + "\n".join(f"  {line}" for line in note.lines) for note in engine.notes
    ]
    return {
        "package": package,
        "engine_id": pyrepr(engine.engine_id),
        "doc": "\n\n".join(
            [
                f"{engine.engine_id}: {engine.purpose or engine.title}",
                *notes,
                f"Source: {engine.source}. {GENERATED_NOTE}",
            ]
        ),
        "source": source_line(engine.span),
        "reason_codes": [
            {
                "code": f"{PythonIdentifier(rc.code)} = {pyrepr(rc.code)}",
                "source": source_line(rc.span),
                "description": comment(rc.description),
            }
            for rc in own_codes
        ],
        "roles": render(
            prefixed(
                "REASON_CODE_ROLES: dict[str, str] = ",
                dict_of([(pyrepr(r.role), pyrepr(r.code)) for r in roles]),
            )
        ),
        "models": annotator.models,
        "lifecycles": [
            _lifecycle_view(lc, lifecycle_constants[lc.ledger or ""], imports) for lc in lifecycles
        ],
        "capabilities": capabilities,
        "wrappers": wrappers,
        "tool_path": _tool_path_view(tool_path, imports) if tool_path else None,
        "event_types": _event_types_view(program, engine, imports),
        "reason_code_tuple": render(
            prefixed("REASON_CODES: tuple[str, ...] = ", literal(shared_codes))
        )
        if uses_shared_codes
        else "",
        "tools": tools,
        "tool_protocol": f"{imports.module('typing', 't')}.Protocol" if tools else "",
        "catalog": render(
            prefixed(
                f"CAPABILITIES: tuple[{capability_spec}, ...] = ",
                tuple_of(*(str(c["constant"]) for c in capabilities)),
            )
        ),
        "enum": imports.module("enum", "enum") if own_codes else "",
        "imports": imports,
    }


def _io_models(cap: Capability, stem: str, annotator: Annotator, source: str) -> tuple[str, str]:
    """The input model (always a model) and the output model (`None` unless it is one)."""
    title = cap.name or cap.id
    records = annotator.names.records
    input_ref = cap.input.type if cap.input else TypeRef("unit", cap.span)
    record = records.get(input_ref.name or "") if input_ref.kind == "record" else None
    if record is not None and record.alias_of is None:
        input_model = annotator.annotation(input_ref, stem, "", source)
    else:
        doc = f"Input of {cap.id}: {title}."
        input_model = annotator.model(pascal(stem, "input"), doc, cap.input_fields, source).name
    row = output_row(cap.output.type if cap.output else None, records)
    if row is None:
        return input_model, "None"
    if row.kind == "record":
        return input_model, annotator.annotation(row, stem, "", source)
    doc = f"Output of {cap.id}: {title}."
    return input_model, annotator.model(pascal(stem, "output"), doc, row.members, source).name


def _event_types_view(program: Program, engine: Engine, imports: Imports) -> str:
    """`AUDIT_EVENT_TYPES`: the event types the engine's wiring declares, in its order."""
    declared = [t for t in program.audit_event_types if t.engine_id == engine.engine_id]
    if not declared:
        return "AUDIT_EVENT_TYPES: tuple[()] = ()"
    constructor = imports.name("ecm_runtime.catalog", "AuditEventType")
    entries = []
    for event_type in declared:
        arguments: list[tuple[str, Expr | str]] = [
            ("name", pyrepr(event_type.name)),
            ("engine_id", "ENGINE_ID"),
            ("payload_keys", literal(event_type.payload_keys)),
        ]
        if event_type.severity is not None:
            arguments.append(("severity", pyrepr(event_type.severity)))
        if event_type.any_engine:
            arguments.append(("any_engine", "True"))
        entries.append(call(constructor, *(prefixed(f"{k}=", v) for k, v in arguments)))
    return render(prefixed(f"AUDIT_EVENT_TYPES: tuple[{constructor}, ...] = ", tuple_of(*entries)))


def _tool_path_view(path: ToolPath, imports: Imports) -> str:
    arguments: list[tuple[str, Expr | str]] = [
        ("cache_read", pyrepr(path.cache_read)),
        ("cache_write", pyrepr(path.cache_write)),
        ("ok_commit", pyrepr(path.ok_commit)),
        ("fail_commit", pyrepr(path.fail_commit)),
        ("cache_ttl_ms", pyrepr(path.cache_ttl_ms)),
        ("reason_code", pyrepr(path.reason_code)),
    ]
    value = call(
        imports.name("ecm_runtime.catalog", "ToolPath"),
        *(prefixed(f"{k}=", v) for k, v in arguments),
    )
    return render(prefixed("TOOL_PATH = ", value))


def _lifecycle_view(lifecycle: Lifecycle, constant: str, imports: Imports) -> dict[str, str]:
    transitions = (
        tuple_of(
            *(
                call(
                    imports.name("ecm_runtime.catalog", "Transition"),
                    *(
                        prefixed(f"{k}=", v)
                        for k, v in (
                            ("action", pyrepr(t.action)),
                            ("from_states", literal(t.from_states)),
                            ("to_state", pyrepr(t.to_state)),
                            ("reason_code", pyrepr(t.reason_code)),
                            ("capability_id", pyrepr(t.capability_id)),
                        )
                    ),
                )
                for t in lifecycle.transitions
            )
        )
        if lifecycle.transitions
        else Atom("()")
    )
    arguments: list[tuple[str, Expr | str]] = [
        ("name", pyrepr(lifecycle.name)),
        ("ledger", pyrepr(lifecycle.ledger)),
        ("current", pyrepr(lifecycle.current)),
        ("state_column", pyrepr(lifecycle.state_column)),
        ("action_column", pyrepr(lifecycle.action_column)),
        ("states", literal(lifecycle.states)),
        ("final_states", literal(lifecycle.final_states)),
        ("transitions", transitions),
    ]
    value = call(
        imports.name("ecm_runtime.catalog", "Lifecycle"),
        *(prefixed(f"{k}=", v) for k, v in arguments),
    )
    return {
        "source": source_line(lifecycle.span),
        "code": render(prefixed(f"{constant} = ", value)),
    }


_WRAPPED: Mapping[str, tuple[str, str]] = {
    "audit_append": ("write", "{written}"),
    "append": ("write", "{written}"),
    "upsert": ("write", "{written}"),
    "transition": ("transition", "{model}"),
    "rebuild": ("rebuild", "None"),
    "read_one": ("read_one", "{model} | None"),
    "read_many": ("read_many", "tuple[{model}, ...]"),
    "read_map": ("read_map", "dict[tuple[object, ...], {model}]"),
}


_SCOPE_NOTES = {
    "TENANT": "\n\nTenant scope: reads and writes stay within the caller's tenant.",
    "GLOBAL": "\n\nTenant scope: GLOBAL; its rows are shared by every tenant, as the wiring says.",
}


_ENGINE_MODULE_FUNCTIONS = frozenset({"annotations", "enum", "t", "pd"})
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


def _wrapper(
    cap: Capability,
    stem: str,
    operation: str,
    constant: str,
    input_model: str,
    output_model: str,
    source: str,
    imports: Imports,
    scope: str | None,
) -> dict[str, str]:
    """A typed function that calls one capability through the caller's context."""
    method, returns = _WRAPPED[operation]
    function = snake(stem)
    if function in _ENGINE_MODULE_FUNCTIONS:
        function = PythonIdentifier(f"{function}_call")
    arguments = [constant, "payload"]
    if method not in ("write", "rebuild"):
        arguments.append(output_model)
    if method == "write":
        returns = returns.format(written=imports.name("ecm_runtime.results", "Written"))
    returns = returns.format(model=output_model)
    context = imports.name("ecm_runtime.context", "CallContext")
    parameters = (Atom(f"ctx: {context}"), Atom(f"payload: {input_model}"))
    return {
        "source": source,
        "signature": render(Group(f"def {function}", "(", parameters, ")"), 0, f" -> {returns}:"),
        "returns": returns,
        "doc": f"{cap.name or cap.id} ({cap.id}).{_SCOPE_NOTES.get(scope or '', '')}",
        "body": render(prefixed("return ", call(f"ctx.{method}", *arguments)), INDENT),
    }
