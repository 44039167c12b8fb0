"""Resolve parsed type expressions against the field dictionary and the declared records."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

from ecm_contract import FIELD_FAMILY

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Text
from ecmc.frontend.type_grammar import (
    FieldRef,
    GenericType,
    GrammarError,
    InlineRecord,
    ListOf,
    NamedType,
    OptionalOf,
    Pinned,
    TupleType,
    TypeExpr,
    UnitType,
    parse_type,
)
from ecmc.ir import Scalar, Schema
from ecmc.resolve.dictionary import FieldDictionary
from ecmc.span import Span
from ecmc.typeref import (
    ErrorRef,
    InlineRecordRef,
    ListRef,
    MapRef,
    Member,
    OptionRef,
    RecordRef,
    ResultRef,
    ScalarRef,
    TupleRef,
    TypeRef,
    UnitRef,
)


def _result(span: Span, args: tuple[TypeRef, ...]) -> TypeRef:
    return ResultRef(span, args[0], args[1])


def _option(span: Span, args: tuple[TypeRef, ...]) -> TypeRef:
    return OptionRef(span, args[0])


def _list(span: Span, args: tuple[TypeRef, ...]) -> TypeRef:
    return ListRef(span, args[0])


def _map(span: Span, args: tuple[TypeRef, ...]) -> TypeRef:
    return MapRef(span, args[0], args[1])


# The generics of the ECM type language: name -> (number of arguments, IR node).
GENERICS: Mapping[str, tuple[int, Callable[[Span, tuple[TypeRef, ...]], TypeRef]]] = {
    "Result": (2, _result),
    "Option": (1, _option),
    "Vec": (1, _list),
    "Map": (2, _map),
}


_TYPE_WORDS = {
    "bool": "bool",
    "boolean": "bool",
    "int": "int",
    "integer": "int",
    "float": "float",
    "double": "float",
    "number": "float",
    "string": "string",
    "str": "string",
}
"""Words that, written as a field's only value (`dry_run=bool`), give its type."""


def _suggest(name: str, known: list[str]) -> tuple[str, ...]:
    close = difflib.get_close_matches(name, known, n=1)
    return (f"did you mean {close[0]!r}?",) if close else ()


class TypeResolver:
    def __init__(
        self,
        dictionary: FieldDictionary,
        records: Mapping[str, frozenset[str]],
        diagnostics: Diagnostics,
    ) -> None:
        self.dictionary = dictionary
        self.records = records
        """Record name -> its variant names."""
        self.diagnostics = diagnostics

    def schema(self, text: Text) -> Schema:
        parsed = parse_type(text.text, text.span)
        if isinstance(parsed, GrammarError):
            self.diagnostics.report(Code.TYPE_SYNTAX, parsed.span(text.span), parsed.message)
            return Schema(text.text, ErrorRef(text.span))
        return Schema(text.text, self.resolve(parsed))

    def members(self, text: Text) -> tuple[Member, ...] | None:
        """A `fields` / `columns` list: a tuple of fields, or one field."""
        parsed = parse_type(text.text, text.span)
        if isinstance(parsed, GrammarError):
            self.diagnostics.report(Code.TYPE_SYNTAX, parsed.span(text.span), parsed.message)
            return None
        items = parsed.members if isinstance(parsed, TupleType) else (parsed,)
        return self._member_list(items, named_only=True)

    def field(self, name: str, text: Text) -> TypeRef:
        """A field's type from the dictionary; a field family (`*_gate_ok`: any number of
        fields so named) from the naming convention that types its every member."""
        family = "*" in name
        if family and not FIELD_FAMILY.fullmatch(name):
            self.diagnostics.report(
                Code.BAD_NAME_PATTERN,
                text.span,
                f"field family {name!r} must be `*_suffix` or `prefix_*` in snake_case",
            )
            return ErrorRef(text.span)
        definition = self.dictionary.lookup(name)
        if definition is None:
            self.diagnostics.report(
                Code.UNTYPED_FIELD,
                text.span,
                f"unknown field {name!r}: not in the field dictionary and no naming convention "
                "matches",
                *(
                    ["a field family is typed by a naming convention: add one for it"]
                    if family
                    else _suggest(name, self.dictionary.known_names())
                ),
            )
            return ErrorRef(text.span, name=name)
        return ScalarRef(text.span, name, definition.type, definition.typed_by)

    def inline(self, name: str, scalar: Scalar, rule: str, text: Text) -> TypeRef:
        """A type the spec gives a field in place (an inline enum, a boolean); the field
        dictionary's own entry for the name still wins."""
        definition = self.dictionary.lookup(name)
        if definition is not None and definition.typed_by == "field":
            return ScalarRef(text.span, name, definition.type, definition.typed_by)
        return ScalarRef(text.span, name, scalar, rule)

    def _pinned_field(
        self, core: FieldRef, values: tuple[str, ...], optional: bool, span: Span
    ) -> Member:
        """A field no dictionary entry types, written with its values: `dry_run=bool` is a
        field of that type (not pinned), `strict=true` a boolean pinned to true, `mode=A|B`
        an enum of those labels. The dictionary's own entry, where there is one, wins."""
        rule = f"inline values {span.path}:{span.line}"
        text = Text(core.name, core.span)
        if len(values) == 1 and values[0].lower() in _TYPE_WORDS:
            scalar = Scalar(_TYPE_WORDS[values[0].lower()])
            return Member(core.name, self.inline(core.name, scalar, rule, text), optional, (), span)
        if all(v.lower() in ("true", "false") for v in values):
            typed = self.inline(core.name, Scalar("bool"), rule, text)
            return Member(core.name, typed, optional, tuple(v.lower() for v in values), span)
        if all(v.lstrip("-").isdigit() for v in values):
            return Member(
                core.name, self.inline(core.name, Scalar("int"), rule, text), optional, values, span
            )
        labels = tuple(dict.fromkeys(values))
        typed = self.inline(core.name, Scalar("enum", labels), rule, text)
        return Member(core.name, typed, optional, values, span)

    def resolve(self, node: TypeExpr) -> TypeRef:
        match node:
            case UnitType(span=span):
                return UnitRef(span)
            case FieldRef(name=name, span=span):
                return self.field(name, Text(name, span))
            case NamedType(name=name, variant=variant, span=span):
                return self._named(name, variant, node)
            case GenericType(name=name, args=args, span=span):
                return self._generic(name, args, node)
            case TupleType(members=members, span=span):
                return TupleRef(span, self._member_list(members, named_only=False))
            case InlineRecord(name=name, members=members, span=span):
                resolved = self._member_list(members, named_only=True)
                return InlineRecordRef(span, name, resolved)
            case ListOf(inner=inner, span=span):
                return ListRef(span, self.resolve(inner))
            case OptionalOf(inner=inner, span=span):
                return OptionRef(span, self.resolve(inner))
            case Pinned(span=span):
                self.diagnostics.report(
                    Code.MISPLACED_TYPE,
                    span,
                    "'field=value' is only allowed as a member of a tuple or record",
                )
                return ErrorRef(span)
        raise AssertionError(f"unhandled type node {node!r}")  # pragma: no cover

    def _named(self, name: str, variant: str | None, node: NamedType) -> TypeRef:
        if name in GENERICS:
            self.diagnostics.report(
                Code.BAD_GENERIC,
                node.span,
                f"{name!r} is generic and needs type arguments: {name}<...>",
            )
            return ErrorRef(node.span, name=name)
        if name not in self.records:
            self.diagnostics.report(
                Code.UNDEFINED_TYPE,
                node.span,
                f"unknown named type {name!r}: no companion spec defines it",
                *_suggest(name, sorted(self.records)),
            )
            return ErrorRef(node.span, name=name, variant=variant)
        if variant is not None and variant not in self.records[name]:
            known = ", ".join(sorted(self.records[name])) or "none"
            self.diagnostics.report(
                Code.UNDEFINED_VARIANT,
                node.span,
                f"{name!r} has no variant {variant!r}",
                f"its variants: {known}",
            )
            return ErrorRef(node.span, name=name, variant=variant)
        return RecordRef(node.span, name, variant)

    def _generic(self, name: str, args: tuple[TypeExpr, ...], node: GenericType) -> TypeRef:
        known = GENERICS.get(name)
        if known is None:
            self.diagnostics.report(
                Code.BAD_GENERIC,
                node.span,
                f"unknown generic type {name!r}",
                f"known generics: {', '.join(GENERICS)}",
            )
            return ErrorRef(node.span, name=name)
        arity, build = known
        if len(args) != arity:
            self.diagnostics.report(
                Code.BAD_GENERIC,
                node.span,
                f"{name} takes {arity} type argument(s), got {len(args)}",
            )
            return ErrorRef(node.span, name=name)
        resolved = tuple(self.resolve(arg) for arg in args)
        if name == "Result" and not isinstance(resolved[1], RecordRef | ErrorRef):
            self.diagnostics.report(
                Code.MISPLACED_TYPE,
                args[1].span,
                "the error type of Result<T, E> must be a named record",
            )
        return build(node.span, resolved)

    def _member_list(self, items: tuple[TypeExpr, ...], *, named_only: bool) -> tuple[Member, ...]:
        members: list[Member] = []
        seen: dict[str, Member] = {}
        for item in items:
            member = self.member(item, named_only=named_only)
            if member is None:
                continue
            if member.name and member.name in seen:
                self.diagnostics.report(
                    Code.DUPLICATE_FIELD,
                    member.span,
                    f"field {member.name!r} appears twice",
                    f"first at {seen[member.name].span}",
                )
                continue
            if member.name:
                seen[member.name] = member
            members.append(member)
        return tuple(members)

    def member(self, node: TypeExpr, *, named_only: bool) -> Member | None:
        span = node.span
        pinned: tuple[str, ...] = ()
        if isinstance(node, Pinned):
            pinned, node = node.values, node.inner
        optional = isinstance(node, OptionalOf)
        if isinstance(node, OptionalOf):
            node = node.inner
        core = node.inner if isinstance(node, ListOf) else node
        if isinstance(core, FieldRef) and pinned and self.dictionary.lookup(core.name) is None:
            return self._pinned_field(core, pinned, optional, span)
        if isinstance(core, FieldRef | InlineRecord):
            return Member(core.name, self.resolve(node), optional, pinned, span)
        if named_only or pinned:
            self.diagnostics.report(
                Code.MISPLACED_TYPE, span, "expected a field name here, not a type"
            )
            return None
        resolved = self.resolve(node)
        if optional:
            resolved = OptionRef(span, resolved)
        return Member("", resolved, False, (), span)
