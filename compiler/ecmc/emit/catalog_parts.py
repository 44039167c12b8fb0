"""The catalog entries an engine module states besides its capabilities: its audit event
types, its tool path and its lifecycles, as `ecm_runtime.catalog` constructor calls."""

from __future__ import annotations

from dataclasses import fields

from ecm_contract import ToolFields

from ecmc.emit.imports import Imports
from ecmc.emit.layout import Atom, Expr, call, literal, prefixed, render, tuple_of
from ecmc.emit.literals import pyrepr, source_line
from ecmc.ir import Engine, Lifecycle, Program, ToolPath


def event_types_view(program: Program, engine: Engine, imports: Imports) -> str:
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


def tool_path_view(path: ToolPath, imports: Imports) -> str:
    arguments: list[tuple[str, Expr | str]] = [
        ("cache_read", pyrepr(path.cache_read)),
        ("cache_write", pyrepr(path.cache_write)),
        ("ok_commit", pyrepr(path.ok_commit)),
        ("fail_commit", pyrepr(path.fail_commit)),
        ("cache_ttl_ms", pyrepr(path.cache_ttl_ms)),
        ("reason_code", pyrepr(path.reason_code)),
    ]
    default = ToolFields()
    renamed = [
        (f.name, getattr(path.fields, f.name))
        for f in fields(ToolFields)
        if getattr(path.fields, f.name) != getattr(default, f.name)
    ]
    if renamed:
        constructor = imports.name("ecm_contract", "ToolFields")
        named = call(constructor, *(prefixed(f"{k}=", pyrepr(v)) for k, v in renamed))
        arguments.append(("fields", named))
    value = call(
        imports.name("ecm_runtime.catalog", "ToolPath"),
        *(prefixed(f"{k}=", v) for k, v in arguments),
    )
    return render(prefixed("TOOL_PATH = ", value))


def lifecycle_view(lifecycle: Lifecycle, constant: str, imports: Imports) -> dict[str, str]:
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
