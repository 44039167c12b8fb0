"""The grammar of field-dictionary types (`fields`, `conventions`, `aliases`)::

    field_type := base [bounds] [limits] ["[" "]"]
    base       := NAME                                string int float bool json object, or an alias
                | "enum" "(" NAME ("|" NAME)* ")"
    bounds     := "[" [INT] ".." [INT] "]"            inclusive: length of a string, value of
                | "[" INT "]"                         an int, entries of an object; [n]: exact
    limits     := "{" limit ("," limit)* "}"          JSON values (json, object) only
    limit      := NAME "=" ([INT] ".." [INT] | INT)   bytes: canonical JSON size in bytes;
                                                      strings: length of every string inside

Parsed with the type-expression parser's tokens and machinery (`type_grammar`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ecmc.frontend.type_grammar import GrammarError, Parser, parse_with
from ecmc.span import Span


@dataclass(frozen=True, slots=True)
class Limit:
    """A size limit of a JSON value: `bytes=..2048`, `strings=1..256`."""

    name: str
    minimum: int | None
    maximum: int | None
    offset: int
    """Where the limit's name starts in the type text, for diagnostics."""


@dataclass(frozen=True, slots=True)
class FieldTypeExpr:
    base: str
    labels: tuple[str, ...]
    minimum: int | None
    maximum: int | None
    is_list: bool
    span: Span
    limits: tuple[Limit, ...] = ()


def parse_field_type(text: str, base: Span) -> FieldTypeExpr | GrammarError:
    """Parse a field-dictionary type whose first character is at `base`."""
    return parse_with(text, base, FieldTypeParser.field_type, "empty field type", FieldTypeParser)


class FieldTypeParser(Parser):
    def field_type(self) -> FieldTypeExpr:
        start = self.current
        if start.kind != "name":
            raise self.fail("expected a field type name")
        self.advance()
        labels: list[str] = []
        if start.text == "enum":
            self.expect("(", "after 'enum'")
            labels.append(self.label())
            while self.at("|"):
                self.advance()
                labels.append(self.label())
            self.expect(")", "or '|' between enum labels")
        minimum: int | None = None
        maximum: int | None = None
        is_list = False
        if self.at("[") and self.tokens[self.pos + 1].text != "]":
            self.advance()
            minimum, maximum = self.bounds()
        limits = self.limits() if self.at("{") else ()
        if self.at("["):
            self.advance()
            self.expect("]", "to close a list suffix '[]'")
            is_list = True
        return FieldTypeExpr(
            start.text, tuple(labels), minimum, maximum, is_list, self.span_from(start), limits
        )

    def limits(self) -> tuple[Limit, ...]:
        self.advance()
        found: list[Limit] = []
        while True:
            name = self.current
            if name.kind != "name":
                raise self.fail("expected a limit name such as 'bytes' or 'strings'")
            self.advance()
            self.expect("=", f"after limit {name.text!r}")
            low: int | None
            high: int | None
            if self.current.kind == "int" and self.tokens[self.pos + 1].text != "..":
                low = high = int(self.advance().text)
            else:
                low, high = self.range()
            found.append(Limit(name.text, low, high, name.offset))
            if self.at(","):
                self.advance()
                continue
            self.expect("}", "or ',' between limits")
            return tuple(found)

    def label(self) -> str:
        token = self.current
        if token.kind != "name":
            raise self.fail("expected an enum label")
        self.advance()
        return token.text

    def bounds(self) -> tuple[int | None, int | None]:
        if self.current.kind == "int" and self.tokens[self.pos + 1].text == "]":
            exact = int(self.advance().text)
            self.advance()
            return exact, exact
        low, high = self.range()
        self.expect("]", "to close bounds '[min..max]'")
        return low, high

    def range(self) -> tuple[int | None, int | None]:
        """`min..max`, either end open."""
        low: int | None = None
        high: int | None = None
        if self.current.kind == "int":
            low = int(self.advance().text)
        self.expect("..", "in a range 'min..max'")
        if self.current.kind == "int":
            high = int(self.advance().text)
        return low, high
