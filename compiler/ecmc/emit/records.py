"""`records.py`: the named records of the companion specs, each after the records it uses."""

from __future__ import annotations

from ecmc.emit.event_union import audit_inputs, schema_config
from ecmc.emit.imports import Imports
from ecmc.emit.layout import INDENT, LINE_LIMIT, Atom, Group, render
from ecmc.emit.literals import pyrepr, source_line
from ecmc.emit.models import Annotator
from ecmc.emit.names import ClassName, PythonIdentifier, pascal
from ecmc.emit.package_names import PackageNames
from ecmc.ir import Program, Record
from ecmc.typeref import RecordRef, walk


def records_view(program: Program, names: PackageNames, package: str) -> dict[str, object]:
    reserved = frozenset(
        {r.name for r in program.records}
        | {pascal(r.name, v.name) for r in program.records for v in r.variants}
    )
    imports = Imports(package, future=True)
    annotator = Annotator(names, imports, in_records=True, reserved=reserved)
    aliases = []
    appended = audit_inputs(program)
    for record in _dependency_order(program.records):
        source = source_line(record.span)
        if record.alias_of is not None:
            annotation = annotator.annotation(record.alias_of, record.name, "", source)
            aliases.append({"code": f"{ClassName(record.name)} = {annotation}", "source": source})
            continue
        doc = record.description or f"The {record.name} record."
        view = annotator.model(ClassName(record.name), doc, record.members, source, exact=True)
        if record.name in appended:
            fields = frozenset(m.name for m in record.members)
            config = schema_config(program, appended[record.name], fields, imports)
            view.class_vars += [config] if config else []
        base_names = {m.name for m in record.members}
        for variant in record.variants:
            extra = tuple(m for m in variant.members if m.name not in base_names)
            view = annotator.model(
                pascal(record.name, variant.name),
                f"{record.name}::{variant.name}",
                extra,
                source_line(variant.span),
                base=ClassName(record.name),
                exact=True,
            )
            class_var = f"{imports.module('typing', 't')}.ClassVar[str]"
            view.class_vars = [
                _class_var(f"{PythonIdentifier(key).upper()}: {class_var} = ", pyrepr(value))
                for key, value in (("variant", variant.name), *variant.attributes)
            ]
    return {"imports": imports.render(), "models": annotator.models, "aliases": aliases}


def _class_var(assignment: str, value: str) -> str:
    """A class attribute; a value too long for its line goes in parentheses, as ruff format
    lays it out."""
    if INDENT + len(assignment) + len(value) <= LINE_LIMIT:
        return assignment + value
    return render(Group(assignment, "(", (Atom(value),), ")"), INDENT)


def _dependency_order(records: tuple[Record, ...]) -> list[Record]:
    """Records after the records they use, otherwise by name: output never depends on order."""
    by_name = {r.name: r for r in records}
    deps: dict[str, set[str]] = {}
    for record in records:
        found: set[str] = set()
        members = list(record.members) + [m for v in record.variants for m in v.members]
        refs = [m.type for m in members] + ([record.alias_of] if record.alias_of else [])
        for ref in (node for top in refs for node in walk(top)):
            if isinstance(ref, RecordRef) and ref.name in by_name and ref.name != record.name:
                found.add(ref.name)
        deps[record.name] = found
    ordered: list[Record] = []
    placed: set[str] = set()
    pending = sorted(by_name)
    while pending:
        ready = [n for n in pending if deps[n] <= placed] or pending[:1]
        for name in ready:
            ordered.append(by_name[name])
            placed.add(name)
        pending = [n for n in pending if n not in placed]
    return ordered
