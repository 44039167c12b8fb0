"""The Python names of everything in the generated package, decided once for the whole
package: field aliases, engine modules.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecmc.emit.imports import Imports
from ecmc.emit.layout import prefixed, render
from ecmc.emit.literals import source_line
from ecmc.emit.names import ClassName, PythonIdentifier, pascal, snake
from ecmc.emit.pytypes import FIELDS_MODULE_IMPORTS, scalar_annotation
from ecmc.ir import Engine, Member, Program, Scalar
from ecmc.typeref import ScalarRef, walk


class PackageNames:
    """The Python names of everything, decided once for the whole package."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.records = {r.name: r for r in program.records}
        # One alias per field name and type: a field a spec types in place (an inline enum)
        # differently from another use of the name gets an alias of its own.
        used: dict[tuple[str, Scalar], ScalarRef] = {}
        for member in all_members(program):
            for ref in walk(member.type):
                if isinstance(ref, ScalarRef):
                    used.setdefault((ref.name, ref.scalar), ref)
        for table in program.tables:
            for column in table.columns:
                used.setdefault(
                    (column.name, column.type),
                    ScalarRef(column.span, column.name, column.type, column.typed_by),
                )
        self.field_types = sorted(used.items(), key=lambda item: item[0][0])
        self.field_aliases: dict[tuple[str, Scalar], ClassName] = {}
        taken: set[str] = set(FIELDS_MODULE_IMPORTS)  # an alias never shadows an import
        for key, _ in self.field_types:
            alias = pascal(key[0])
            candidate, n = alias, 2
            while candidate in taken:
                candidate, n = ClassName(f"{alias}{n}"), n + 1
            taken.add(candidate)
            self.field_aliases[key] = candidate
        modules: dict[str, str] = {}
        self.modules: dict[str, PythonIdentifier] = {}
        for engine in program.engines:
            module = snake(engine.engine_id)
            if module in modules:
                module = PythonIdentifier(f"{module}_{len(modules)}")
            modules[module] = engine.engine_id
            self.modules[engine.engine_id] = module

    def field_alias(self, ref: ScalarRef) -> ClassName:
        return self.field_aliases[(ref.name, ref.scalar)]

    def engine_module(self, engine: Engine) -> PythonIdentifier:
        return self.modules[engine.engine_id]

    def fields_view(self, package: str) -> dict[str, object]:
        definitions = {f.name: f for f in self.program.fields}
        imports = Imports(package)
        views: list[dict[str, str]] = []
        for (name, scalar), ref in self.field_types:
            definition = definitions.get(name) if ref.typed_by == "field" else None
            alias = self.field_aliases[(name, scalar)]
            description = definition.description if definition else ""
            annotation = scalar_annotation(ref.scalar, imports, description)
            views.append(
                {
                    "code": render(prefixed(f"{alias} = ", annotation)),
                    "name": name,
                    "typed_by": ref.typed_by,
                    "source": source_line(definition.span if definition else ref.span),
                }
            )
        return {"imports": imports.render(), "fields": views}


def all_members(program: Program) -> Iterable[Member]:
    for record in program.records:
        yield from record.members
        for variant in record.variants:
            yield from variant.members
        if record.alias_of is not None:
            yield Member(record.name, record.alias_of, False, (), record.span)
    for engine in program.engines:
        for cap in engine.capabilities:
            for schema in (cap.input, cap.output):
                if schema is not None:
                    yield Member("", schema.type, False, (), schema.type.span)
