"""The grammar of type expressions, and a recursive-descent parser with exact positions.

ECM type expressions (`input_schema`, `output_schema`, record `fields`, table `columns`)::

    type      := primary suffix*
    suffix    := "?"                                  optional:  session_id?
               | "[" "]"                              list:      citations[]  AuditEvent[]
    primary   := "none" | "unit"                      no input / no output
               | "(" [member ("," member)*] ")"       tuple of fields
               | NAME "<" type ("," type)* ">"        generic:   Result<T, E>  Option<T>  Vec<T>
               | NAME "::" NAME                       variant:   Ph1CapreqRequest::create_draft_v1
               | NAME "{" [member ("," member)*] "}"  inline record, may nest
               | NAME                                 PascalCase: named type; otherwise: a field
    member    := type ["=" value ("|" value)*]        a field, optionally pinned: state=CANCELED
    value     := NAME | INT

Tokens: NAME is `[A-Za-z_][A-Za-z0-9_]*`, INT is `-?[0-9]+`; spaces separate tokens and are
otherwise ignored. Anything else is a located error. Parsing never raises: the entry points
return a node or a `GrammarError` carrying the offset and width of the offending text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, TypeVar

from ecmc.span import Span

MAX_NESTING = 24

_TOKEN = re.compile(
    r"(?P<ws>\s+)|(?P<name>[A-Za-z_*][A-Za-z0-9_*]*)|(?P<int>-?[0-9]+)"
    r"|(?P<punct>::|\.\.|[()<>{}\[\],?=|])"
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "name", "int", "punct", "end"
    text: str
    offset: int


@dataclass(frozen=True, slots=True)
class GrammarError:
    message: str
    offset: int
    width: int

    def span(self, base: Span) -> Span:
        return base.narrow(self.offset, self.width)


# --- ECM type expression nodes --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitType:
    keyword: str  # "none" or "unit"
    span: Span


@dataclass(frozen=True, slots=True)
class FieldRef:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class NamedType:
    name: str
    variant: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class GenericType:
    name: str
    args: tuple[TypeExpr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class TupleType:
    members: tuple[TypeExpr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class InlineRecord:
    name: str
    members: tuple[TypeExpr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ListOf:
    inner: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class OptionalOf:
    inner: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class Pinned:
    """A member fixed to one of a set of values: `state=CANCELED`, `status=OK|REFUSED`."""

    inner: TypeExpr
    values: tuple[str, ...]
    span: Span


TypeExpr = (
    UnitType
    | FieldRef
    | NamedType
    | GenericType
    | TupleType
    | InlineRecord
    | ListOf
    | OptionalOf
    | Pinned
)


# --- field dictionary types -----------------------------------------------------------------


_Node = TypeVar("_Node")


def is_type_name(name: str) -> bool:
    """PascalCase names denote named types; every other name in a schema denotes a field."""
    return name[:1].isupper() and any(c.islower() for c in name)


def tokenize(text: str) -> list[Token] | GrammarError:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            return GrammarError(f"unexpected character {text[pos]!r}", pos, 1)
        kind = match.lastgroup or "ws"
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def parse_type(text: str, base: Span) -> TypeExpr | GrammarError:
    """Parse an ECM type expression whose first character is at `base`."""
    parsed = _parsed_at_origin(text, member=False)
    return parsed if isinstance(parsed, GrammarError) else _moved(parsed, base)


def parse_member(text: str, base: Span) -> TypeExpr | GrammarError:
    """Parse one tuple member on its own, e.g. a backticked `status=OK|FAIL` in prose."""
    parsed = _parsed_at_origin(text, member=True)
    return parsed if isinstance(parsed, GrammarError) else _moved(parsed, base)


_ORIGIN = Span("", 1, 1, 1, 1)


@lru_cache(maxsize=4096)
def _parsed_at_origin(text: str, *, member: bool) -> TypeExpr | GrammarError:
    """A spec repeats its type expressions (the same tuple in many capabilities): each text
    is parsed once, at column 1 of no file, and its spans moved to each place it occurs."""
    if member:
        return parse_with(text, _ORIGIN, lambda parser: parser.member(0), "empty member")
    return parse_with(text, _ORIGIN, lambda parser: parser.type_expr(0), "empty type expression")


def _moved(node: TypeExpr, base: Span) -> TypeExpr:
    """A node parsed at the origin, with every span at the same offset from `base` (which,
    like any type expression's, is on one line)."""
    span = base.narrow(node.span.col - 1, node.span.end_col - node.span.col)
    match node:
        case UnitType() | FieldRef() | NamedType():
            return replace(node, span=span)
        case GenericType(name, args):
            return GenericType(name, tuple(_moved(arg, base) for arg in args), span)
        case TupleType(members):
            return TupleType(tuple(_moved(m, base) for m in members), span)
        case InlineRecord(name, members):
            return InlineRecord(name, tuple(_moved(m, base) for m in members), span)
        case ListOf(inner):
            return ListOf(_moved(inner, base), span)
        case OptionalOf(inner):
            return OptionalOf(_moved(inner, base), span)
        case Pinned(inner, values):
            return Pinned(_moved(inner, base), values, span)


def parse_with(
    text: str,
    base: Span,
    rule: Callable[[Any], _Node],
    empty: str,
    parser_class: type[Parser] | None = None,
) -> _Node | GrammarError:
    """Run one rule of a grammar (`parser_class`: this module's unless given) over the whole
    text; errors come back, never raise."""
    tokens = tokenize(text)
    if isinstance(tokens, GrammarError):
        return tokens
    if tokens[0].kind == "end":
        return GrammarError(empty, 0, 1)
    parser = (parser_class or Parser)(tokens, base)
    try:
        node = rule(parser)
        parser.expect_end()
    except Failure as failure:
        return failure.error
    return node


class Failure(Exception):
    def __init__(self, error: GrammarError) -> None:
        super().__init__(error.message)
        self.error = error


class Parser:
    def __init__(self, tokens: list[Token], base: Span) -> None:
        self.tokens = tokens
        self.base = base
        self.pos = 0

    # helpers

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "end":
            self.pos += 1
        return token

    def at(self, text: str) -> bool:
        return self.current.kind == "punct" and self.current.text == text

    def fail(self, message: str, token: Token | None = None) -> Failure:
        token = token or self.current
        shown = "end of expression" if token.kind == "end" else repr(token.text)
        return Failure(GrammarError(f"{message}, found {shown}", token.offset, len(token.text)))

    def expect(self, text: str, context: str) -> Token:
        if not self.at(text):
            raise self.fail(f"expected {text!r} {context}")
        return self.advance()

    def expect_end(self) -> None:
        if self.current.kind != "end":
            raise self.fail("expected end of type expression")

    def span_from(self, start: Token) -> Span:
        previous = self.tokens[self.pos - 1] if self.pos > 0 else start
        end = previous.offset + len(previous.text)
        return self.base.narrow(start.offset, max(end - start.offset, 1))

    # ECM type expressions

    def type_expr(self, depth: int) -> TypeExpr:
        if depth > MAX_NESTING:
            raise self.fail(f"type nested deeper than {MAX_NESTING} levels")
        start = self.current
        node = self.primary(depth)
        while True:
            # Each suffix nests the type a level deeper (and every later stage walks it).
            depth += self.at("?") or self.at("[")
            if depth > MAX_NESTING:
                raise self.fail(f"type nested deeper than {MAX_NESTING} levels")
            if self.at("?"):
                self.advance()
                node = OptionalOf(node, self.span_from(start))
            elif self.at("["):
                self.advance()
                self.expect("]", "to close a list suffix '[]'")
                node = ListOf(node, self.span_from(start))
            else:
                return node

    def primary(self, depth: int) -> TypeExpr:
        start = self.current
        if self.at("("):
            self.advance()
            members = self.members(")", depth)
            return TupleType(members, self.span_from(start))
        if start.kind != "name":
            raise self.fail("expected a type, a field name or '('")
        self.advance()
        if start.text in ("none", "unit"):
            return UnitType(start.text, self.span_from(start))
        if self.at("<"):
            self.advance()
            args = [self.type_expr(depth + 1)]
            while self.at(","):
                self.advance()
                args.append(self.type_expr(depth + 1))
            self.expect(">", f"to close the arguments of {start.text!r}")
            return GenericType(start.text, tuple(args), self.span_from(start))
        if self.at("::"):
            self.advance()
            variant = self.current
            if variant.kind != "name":
                raise self.fail(f"expected a variant name after '{start.text}::'")
            self.advance()
            return NamedType(start.text, variant.text, self.span_from(start))
        if self.at("{"):
            self.advance()
            members = self.members("}", depth)
            return InlineRecord(start.text, members, self.span_from(start))
        if is_type_name(start.text):
            return NamedType(start.text, None, self.span_from(start))
        return FieldRef(start.text, self.span_from(start))

    def members(self, closing: str, depth: int) -> tuple[TypeExpr, ...]:
        members: list[TypeExpr] = []
        if self.at(closing):
            self.advance()
            return ()
        while True:
            members.append(self.member(depth + 1))
            if self.at(","):
                self.advance()
                continue
            self.expect(closing, "or ',' between members")
            return tuple(members)

    def member(self, depth: int) -> TypeExpr:
        start = self.current
        node = self.type_expr(depth)
        if not self.at("="):
            return node
        self.advance()
        values = [self.value()]
        while self.at("|"):
            self.advance()
            values.append(self.value())
        return Pinned(node, tuple(values), self.span_from(start))

    def value(self) -> str:
        token = self.current
        if token.kind not in ("name", "int"):
            raise self.fail("expected a value after '=' or '|'")
        self.advance()
        return token.text
