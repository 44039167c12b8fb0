"""`engines/<engine>.py`: reason codes, models, capability specs, typed wrappers and, for
engines with tool queries, the provider protocol.
"""

from __future__ import annotations

from collections.abc import Mapping

from ecm_contract import TOOL_REQUEST_OMITS, Operation
from ecm_contract.catalog import Capability as CatalogEntry
from ecm_contract.catalog import EngineContract

from ecmc.emit.contract_literal import contract_literal, stated
from ecmc.emit.event_union import schema_config
from ecmc.emit.imports import Imports
from ecmc.emit.layout import (
    INDENT,
    Atom,
    Expr,
    Group,
    call,
    prefixed,
    render,
    tuple_of,
)
from ecmc.emit.literals import GENERATED_NOTE, comment, pyrepr, source_line
from ecmc.emit.models import Annotator
from ecmc.emit.names import PythonIdentifier, capability_prefix, pascal, snake
from ecmc.emit.package_names import PackageNames
from ecmc.emit.wrappers import RETURNS, handler_wrapper, storage_wrapper
from ecmc.ir import Capability, Engine, Lifecycle, Program, Record, TypeRef
from ecmc.resolve.shapes import output_row
from ecmc.typeref import InlineRecordRef, RecordRef, ResultRef, TupleRef, UnitRef


def engine_view(
    program: Program,
    engine: Engine,
    lowered: tuple[EngineContract, Mapping[str, CatalogEntry]],
    names: PackageNames,
    package: str,
) -> dict[str, object]:
    return _EngineModule(program, engine, lowered, names, package).view()


class _EngineModule:
    """One engine module being emitted: its catalog entries, wrappers and tool methods."""

    def __init__(
        self,
        program: Program,
        engine: Engine,
        lowered: tuple[EngineContract, Mapping[str, CatalogEntry]],
        names: PackageNames,
        package: str,
    ):
        self.program, self.engine, self.names, self.package = program, engine, names, package
        self.contract, self.entries = lowered
        self.imports = imports = Imports(package, future=True)
        self.annotator = Annotator(names, imports, in_records=False)
        if engine.engine_id in {engine_id for engine_id, _ in program.enum_reason_codes}:
            self.annotator.reason_enum = "ReasonCode"
        self.prefix = capability_prefix([c.id for c in engine.capabilities])
        self.bindings = {b.capability_id: b for b in program.bindings}
        wiring_codes = program.wiring_reason_codes
        self.own_codes = [
            *engine.reason_codes,
            *(rc for engine_id, rc in wiring_codes if engine_id == engine.engine_id),
        ]
        # Catalog values stated once and named: the codes most capabilities carry (the
        # engine's own and its roles'), its tool path and its lifecycles.
        role_codes = [code for _, code in self.contract.roles]
        self.shared_codes = tuple(dict.fromkeys([*self.contract.reason_codes, *role_codes]))
        self.named: dict[object, str] = {
            lc: f"{snake(lc.name).upper()}_LIFECYCLE" for lc in self.contract.lifecycles
        }
        if self.contract.tool_path is not None:
            self.named[self.contract.tool_path] = "TOOL_PATH"
        self.uses_shared_codes = any(
            e.reason_codes == self.shared_codes for e in self.entries.values()
        )
        if self.uses_shared_codes:
            self.named[self.shared_codes] = "REASON_CODES"
        self.capabilities: list[dict[str, str]] = []
        self.wrappers: list[dict[str, str]] = []
        self.tools: list[str] = []
        self.handlers: list[str] = []

    def view(self) -> dict[str, object]:
        for cap in self.engine.capabilities:
            self.capability(cap)
        engine, imports = self.engine, self.imports
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
            "models": self.annotator.models,
            "tools": self.tools,
            "tool_protocol": f"{imports.module('typing', 't')}.Protocol" if self.tools else "",
            "handlers": self.handlers,
            "handler_protocol": f"{imports.module('typing', 't')}.Protocol"
            if self.handlers
            else "",
            "enum": imports.module("enum", "enum") if self.own_codes else "",
            "imports": imports,
            **self.catalog_view(),
        }

    def catalog_view(self) -> dict[str, object]:
        """The module's catalog part: shared codes, tool path, lifecycles, specs, ENGINE."""
        imports = self.imports
        capability_spec = imports.name("ecm_runtime.catalog", "CapabilitySpec")
        return {
            "catalog": render(
                prefixed(
                    f"CAPABILITIES: tuple[{capability_spec}, ...] = ",
                    tuple_of(*(c["constant"] for c in self.capabilities)),
                )
            ),
            "lifecycles": [
                {
                    "source": source_line(lc.span),
                    "code": render(
                        prefixed(f"{self.named[lowered]} = ", contract_literal(lowered, imports))
                    ),
                }
                for lc, lowered in zip(self.lifecycles(), self.contract.lifecycles, strict=True)
            ],
            "capabilities": self.capabilities,
            "wrappers": self.wrappers,
            "tool_path": render(
                prefixed("TOOL_PATH = ", contract_literal(self.contract.tool_path, imports))
            )
            if self.contract.tool_path
            else None,
            "engine": render(
                prefixed(
                    "ENGINE = ",
                    contract_literal(self.contract, imports, self.named),
                )
            ),
            "reason_code_tuple": render(
                prefixed(
                    "REASON_CODES: tuple[str, ...] = ", contract_literal(self.shared_codes, imports)
                )
            )
            if self.uses_shared_codes
            else "",
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

    def lifecycles(self) -> list[Lifecycle]:
        return [lc for lc in self.program.lifecycles if lc.engine_id == self.engine.engine_id]

    def capability(self, cap: Capability) -> None:
        """The capability's catalog entry with its models, and its wrapper or tool method."""
        entry = self.entries[cap.id]
        stem = cap.id[len(self.prefix) :] if self.prefix else cap.id
        source = entry.source
        returns = None
        if entry.operation is Operation.HANDLER:
            input_model = _input_model(cap, stem, self.annotator, source)
            output_type = cap.output.type if cap.output else UnitRef(cap.span)
            returns = self.annotator.annotation(output_type, stem, "output", source)
            output_model = returns if _is_model(output_type, self.names.records) else "None"
        else:
            input_model, output_model = _io_models(cap, stem, self.annotator, source)
            if entry.operation is Operation.AUDIT_APPEND:
                self.state_event_union(cap, input_model)
        models: list[tuple[str, Expr | str]] = [("input_model", input_model)]
        if output_model != "None":
            models.append(("output_model", output_model))
        if returns is not None:
            models += [("returns", returns), ("method", pyrepr(snake(stem)))]
        request_model = None
        if entry.operation is Operation.TOOL_QUERY:
            request_model = _request_model(cap, stem, self.annotator, source)
            models.append(("request_model", request_model))
        arguments = [*stated(entry, self.imports, self.named), *models]
        constructor = self.imports.name("ecm_runtime.catalog", "CapabilitySpec")
        spec = call(constructor, *(prefixed(f"{k}=", v) for k, v in arguments))
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
        if entry.operation is Operation.TOOL_QUERY and entry.tool_name:
            method = Group(
                f"def {snake(entry.tool_name)}",
                "(",
                (Atom("self"), Atom(f"request: {request_model}")),
                ")",
            )
            self.tools.append(render(method, INDENT, f" -> {output_model}: ..."))
        answers = output_model != "None" or entry.operation is not Operation.TOOL_QUERY
        if entry.operation.answer in RETURNS and answers:
            self.wrappers.append(
                storage_wrapper(
                    cap,
                    stem,
                    entry.operation,
                    constant,
                    (input_model, output_model),
                    source,
                    self.imports,
                    entry.scope,
                )
            )

    def state_event_union(self, cap: Capability, input_model: str) -> None:
        """An audit append's own input model states the event types it takes (a record's
        does in records.py)."""
        view = next((m for m in self.annotator.models if m.name == input_model), None)
        if view is not None:
            fields = frozenset(m.name for m in cap.input_fields)
            config = schema_config(self.program, self.engine.engine_id, fields, self.imports)
            view.class_vars += [config] if config else []

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
