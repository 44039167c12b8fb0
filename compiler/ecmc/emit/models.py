"""Pydantic models of records and of capability inputs and outputs, as views the templates
place; nested inline records become models of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecm_contract import REASON_FIELD

from ecmc.emit.imports import Imports
from ecmc.emit.layout import INDENT, Atom, Expr, call, prefixed, render
from ecmc.emit.literals import pyrepr
from ecmc.emit.names import ClassName, model_field, pascal
from ecmc.emit.package_names import PackageNames
from ecmc.ir import Member, TypeRef
from ecmc.typeref import ScalarRef, is_family


@dataclass
class ModelView:
    name: str
    base: str
    doc: str
    source: str
    fields: list[str] = field(default_factory=list)
    """Laid-out field statements, indented for the class body."""
    class_vars: list[str] = field(default_factory=list)


_ENGINE_MODULE_NAMES = frozenset(
    {"ReasonCode", "SpecModel", "AuditRule", "CapabilitySpec", "REASON_CODES", "Handlers"}
    | {"ToolProvider", "HandlerCall"}
)


@dataclass
class Annotator:
    """Annotations for model fields; nested inline records become models of their own."""

    names: PackageNames
    imports: Imports
    in_records: bool
    """True inside records.py, where records are local names; elsewhere they are `_r.X`."""
    models: list[ModelView] = field(default_factory=list)
    reserved: frozenset[str] = frozenset()
    """Record and variant class names of the module: made-up names never take them."""
    reason_enum: str | None = None
    """The enum that types `reason_code` fields of input models, when the wiring says so."""

    def annotation(self, ref: TypeRef, owner: str, member: str, source: str) -> str:
        """The annotation of a type in this module: the node builds it, asking this object
        for field aliases, record classes and inline models."""
        return ref.annotate(self, owner, member, source)

    def field_alias(self, ref: ScalarRef) -> str:
        fields_module = self.imports.name(self.imports.package, "fields", "_f")
        return f"{fields_module}.{self.names.field_alias(ref)}"

    def record_class(self, name: str, variant: str | None) -> str:
        prefix = ""
        if not self.in_records:
            prefix = self.imports.name(self.imports.package, "records", "_r") + "."
        record = self.names.records[name]
        if variant is not None:
            return prefix + pascal(record.name, variant)
        return prefix + ClassName(record.name)

    def inline_model(
        self, owner: str, member: str, members: tuple[Member, ...], source: str
    ) -> str:
        name = pascal(owner, member) if member else ClassName(owner)
        return self.model(name, "", members, source).name

    def variant_model(
        self, owner: str, label: str, members: tuple[Member, ...], source: str
    ) -> str:
        view = self.model(pascal(owner, label), f"The {label} variant.", members, source)
        typing = self.imports.module("typing", "t")
        view.class_vars.append(f"VARIANT: {typing}.ClassVar[str] = {pyrepr(label)}")
        return view.name

    def model(
        self,
        name: str,
        doc: str,
        members: tuple[Member, ...],
        source: str,
        base: str | None = None,
        exact: bool = False,
        is_input: bool = False,
    ) -> ModelView:
        """Add a model. A record keeps its own (`exact`) name; a name made up here gives way
        to every record name and every name already taken, by a numeric suffix."""
        families = [m for m in members if is_family(m.name)]
        if base is None:
            base = self.imports.name(
                "ecm_runtime.models", "FamilyModel" if families else "SpecModel"
            )
        unique = name
        if not exact:
            taken = {m.name for m in self.models} | _ENGINE_MODULE_NAMES | self.reserved
            n = 2
            while unique in taken:
                unique, n = f"{name}{n}", n + 1
        view = ModelView(unique, base, doc, source)
        self.models.append(view)
        if families:
            view.class_vars.append(self._families(unique, families, source))
        for index, member in enumerate(members):
            if not is_family(member.name):
                view.fields.append(self.model_field(unique, member, index, source, is_input))
        return view

    def _families(self, owner: str, families: list[Member], source: str) -> str:
        """`FIELD_FAMILIES`: each family's pattern and the type of its every field."""
        typing = self.imports.module("typing", "t")
        items = [
            f"{pyrepr(m.name)}: {self.annotation(m.type, owner, m.name, source)}" for m in families
        ]
        statement = prefixed(
            f"FIELD_FAMILIES: {typing}.ClassVar[dict[str, object]] = ",
            Atom("{" + ", ".join(items) + "}"),
        )
        return render(statement, INDENT)

    def model_field(
        self, owner: str, member: Member, index: int, source: str, is_input: bool = False
    ) -> str:
        spec_name = member.name or f"value_{index}"
        attribute, alias = model_field(spec_name)
        if is_input and self.reason_enum and spec_name == REASON_FIELD and not member.pinned:
            annotation = self.reason_enum
        elif member.pinned:
            literal = f"{self.imports.module('typing', 't')}.Literal"
            values = ", ".join(_pinned_literal(member.type, v) for v in member.pinned)
            annotation = f"{literal}[{values}]"
        else:
            annotation = self.annotation(member.type, owner, spec_name, source)
        if member.optional:
            annotation = f"{annotation} | None"
        statement: Expr
        if alias is not None or member.note:
            arguments = ["default=None"] if member.optional else []
            arguments += [f"alias={pyrepr(alias)}"] if alias is not None else []
            arguments += [f"description={pyrepr(member.note)}"] if member.note else []
            pd_field = f"{self.imports.module('pydantic', 'pd')}.Field"
            statement = prefixed(f"{attribute}: {annotation} = ", call(pd_field, *arguments))
        elif member.optional:
            statement = Atom(f"{attribute}: {annotation} = None")
        else:
            statement = Atom(f"{attribute}: {annotation}")
        return render(statement, INDENT)


def _pinned_literal(ref: TypeRef, value: str) -> str:
    """A pinned value as its field's type holds it: `strict=true` is the boolean True, and
    `level=2` of an int field the number 2; every other value is its label."""
    base = ref.scalar.base if isinstance(ref, ScalarRef) else None
    if base == "bool" and value in ("true", "false"):
        return "True" if value == "true" else "False"
    if base == "int" and value.lstrip("-").isdigit():
        return str(int(value))
    return pyrepr(value)
