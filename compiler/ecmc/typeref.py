"""The IR's type references: a tagged union, one frozen node class per kind of type.

A node knows its own shape: its nested types (`children`) and its Python annotation
(`annotate`), for which it asks an `Annotations` (the emitter) only what a module decides:
the alias of a field, the class of a record, a model for inline fields. Code that needs one
kind matches on the class; `kind` is the tag `ecmc inspect` prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ecmc.span import Span


@dataclass(frozen=True, slots=True)
class Scalar:
    """A field-dictionary type: a primitive with bounds (length for strings, value for ints,
    entries for objects) and, for JSON values, size limits."""

    base: str  # string | int | bool | json | object | enum
    labels: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    is_list: bool = False
    max_bytes: int | None = None
    """JSON values: the most bytes the value's canonical JSON may take."""
    string_min: int | None = None
    string_max: int | None = None
    """JSON values: the length bounds of every string inside the value."""


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    """Empty for a positional tuple member that is a type rather than a field."""
    type: TypeRef
    optional: bool
    pinned: tuple[str, ...]
    span: Span
    note: str = ""
    """What the spec writes after the field: a condition ('present when `status=OK`') or a
    constraint ('must be <= `x_budget_ms`'); its model field's description."""


def is_family(name: str) -> bool:
    """Whether a member is a field family (`*_gate_ok`): any number of fields so named."""
    return "*" in name


class Annotations(Protocol):
    """What a node asks of the module it is annotated in."""

    def field_alias(self, ref: ScalarRef) -> str:
        """The annotation of a field's type (its alias in the fields module)."""

    def record_class(self, name: str, variant: str | None) -> str:
        """The class of a record or of one of its variants."""

    def inline_model(
        self, owner: str, member: str, members: tuple[Member, ...], source: str
    ) -> str:
        """A model of its own for inline fields; its class name."""

    def variant_model(
        self, owner: str, label: str, members: tuple[Member, ...], source: str
    ) -> str:
        """The model of one variant of a union, which knows its label; its class name."""


@dataclass(frozen=True, slots=True)
class UnitRef:
    """`none`: nothing."""

    kind: str = field(default="unit", init=False)
    span: Span

    def children(self) -> tuple[TypeRef, ...]:
        return ()

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        return "None"


@dataclass(frozen=True, slots=True)
class ErrorRef:
    """A type that could not be resolved; a diagnostic was reported. Nothing is emitted."""

    kind: str = field(default="error", init=False)
    span: Span
    name: str | None = None
    variant: str | None = None

    def children(self) -> tuple[TypeRef, ...]:
        return ()

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        raise ValueError(f"{self.span}: a type with errors has no annotation")


@dataclass(frozen=True, slots=True)
class ScalarRef:
    """A dictionary field: its name, its type, and the rule that typed it."""

    kind: str = field(default="scalar", init=False)
    span: Span
    name: str
    scalar: Scalar
    typed_by: str

    def children(self) -> tuple[TypeRef, ...]:
        return ()

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        return to.field_alias(self)


@dataclass(frozen=True, slots=True)
class RecordRef:
    """A named record, or one of its variants."""

    kind: str = field(default="record", init=False)
    span: Span
    name: str
    variant: str | None = None

    def children(self) -> tuple[TypeRef, ...]:
        return ()

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        return to.record_class(self.name, self.variant)


@dataclass(frozen=True, slots=True)
class TupleRef:
    """`(a, b, ...)`: named fields (a record of its own) or positional types."""

    kind: str = field(default="tuple", init=False)
    span: Span
    members: tuple[Member, ...]

    def children(self) -> tuple[TypeRef, ...]:
        return tuple(m.type for m in self.members)

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        if any(m.name for m in self.members):
            return to.inline_model(owner, member, self.members, source)
        inner = ", ".join(m.type.annotate(to, owner, member, source) for m in self.members)
        return f"tuple[{inner}]" if inner else "tuple[()]"


@dataclass(frozen=True, slots=True)
class InlineRecordRef:
    """`name { a, b }`: a record written in place."""

    kind: str = field(default="inline_record", init=False)
    span: Span
    name: str
    members: tuple[Member, ...]

    def children(self) -> tuple[TypeRef, ...]:
        return tuple(m.type for m in self.members)

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        return to.inline_model(owner, member, self.members, source)


@dataclass(frozen=True, slots=True)
class ListRef:
    kind: str = field(default="list", init=False)
    span: Span
    item: TypeRef

    def children(self) -> tuple[TypeRef, ...]:
        return (self.item,)

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        return f"tuple[{self.item.annotate(to, owner, member, source)}, ...]"


@dataclass(frozen=True, slots=True)
class OptionRef:
    kind: str = field(default="option", init=False)
    span: Span
    item: TypeRef

    def children(self) -> tuple[TypeRef, ...]:
        return (self.item,)

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        return f"{self.item.annotate(to, owner, member, source)} | None"


@dataclass(frozen=True, slots=True)
class ResultRef:
    """`Result<T, E>`: returns T or raises E."""

    kind: str = field(default="result", init=False)
    span: Span
    ok: TypeRef
    error: TypeRef

    def children(self) -> tuple[TypeRef, ...]:
        return (self.ok, self.error)

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        return self.ok.annotate(to, owner, member, source)


@dataclass(frozen=True, slots=True)
class MapRef:
    kind: str = field(default="map", init=False)
    span: Span
    key: TypeRef
    value: TypeRef

    def children(self) -> tuple[TypeRef, ...]:
        return (self.key, self.value)

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        key = self.key.annotate(to, owner, member, source)
        return f"dict[{key}, {self.value.annotate(to, owner, member, source)}]"


@dataclass(frozen=True, slots=True)
class UnionRef:
    """`GET -> a / ROTATE -> a + b`: one of several records, each a variant named by its
    label (an answer is one of them: the one the input's field of those labels names)."""

    kind: str = field(default="union", init=False)
    span: Span
    variants: tuple[tuple[str, TupleRef], ...]

    def children(self) -> tuple[TypeRef, ...]:
        return tuple(fields for _, fields in self.variants)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.variants)

    def annotate(self, to: Annotations, owner: str, member: str, source: str) -> str:
        return " | ".join(
            to.variant_model(
                f"{owner}_{member}" if member else owner, label, fields.members, source
            )
            for label, fields in self.variants
        )


TypeRef = (
    UnitRef
    | ErrorRef
    | ScalarRef
    | RecordRef
    | TupleRef
    | InlineRecordRef
    | ListRef
    | OptionRef
    | ResultRef
    | MapRef
    | UnionRef
)
"""A resolved type expression."""


def walk(ref: TypeRef) -> Iterator[TypeRef]:
    """The node and every node inside it, depth first."""
    yield ref
    for child in ref.children():
        yield from walk(child)
