"""Line layout for generated expressions, matching what `ruff format` writes.

Generated code must pass `ruff format --check` without running ruff. The constructs we emit
(calls, subscripts, tuples, dicts) follow two rules there: a bracketed group goes on one line
if it fits; otherwise a group of several items is exploded one item per line with a trailing
comma, and a group of one item is broken after its opening bracket. Output laid out by these
rules is a fixed point of the formatter.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecmc.emit.literals import pyrepr

LINE_LIMIT = 100
INDENT = 4


@dataclass(frozen=True, slots=True)
class Atom:
    text: str


@dataclass(frozen=True, slots=True)
class Group:
    head: str
    """Everything before the opening bracket: `sa.Column`, `name=`, `X = t.Annotated`."""
    open: str
    items: tuple[Expr, ...]
    close: str
    tuple_of_one: bool = False
    """A one-item tuple keeps its comma: `(x,)`."""


Expr = Atom | Group


def call(head: str, *items: Expr | str) -> Group:
    return Group(head, "(", tuple(_expr(i) for i in items), ")")


def subscript(head: str, *items: Expr | str) -> Group:
    return Group(head, "[", tuple(_expr(i) for i in items), "]")


def tuple_of(*items: Expr | str) -> Group:
    exprs = tuple(_expr(i) for i in items)
    return Group("", "(", exprs, ")", tuple_of_one=len(exprs) == 1)


def literal(value: tuple[object, ...]) -> Expr:
    """A tuple literal, nested tuples included, laid out like any other group."""
    if not value:
        return Atom("()")
    return tuple_of(*(literal(v) if isinstance(v, tuple) else pyrepr(v) for v in value))


def dict_of(pairs: list[tuple[str, Expr | str]]) -> Group:
    return Group("", "{", tuple(prefixed(f"{key}: ", value) for key, value in pairs), "}")


def prefixed(prefix: str, value: Expr | str) -> Expr:
    """`prefix` glued to an expression: a keyword argument, an assignment, a dict key."""
    expr = _expr(value)
    if isinstance(expr, Atom):
        return Atom(prefix + expr.text)
    return Group(prefix + expr.head, expr.open, expr.items, expr.close, expr.tuple_of_one)


def _expr(value: Expr | str) -> Expr:
    return Atom(value) if isinstance(value, str) else value


def flat(expr: Expr) -> str:
    if isinstance(expr, Atom):
        return expr.text
    inner = ", ".join(flat(item) for item in expr.items)
    if expr.tuple_of_one:
        inner += ","
    return f"{expr.head}{expr.open}{inner}{expr.close}"


def render(expr: Expr, indent: int = 0, tail: str = "") -> str:
    """The expression laid out to start at column `indent`, followed by `tail` (e.g. `,`)."""
    one_line = flat(expr) + tail
    if isinstance(expr, Atom) or indent + len(one_line) <= LINE_LIMIT or not expr.items:
        return one_line
    pad = " " * (indent + INDENT)
    closing = " " * indent + expr.close + tail
    if len(expr.items) == 1 and not expr.tuple_of_one:
        inner = render(expr.items[0], indent + INDENT)
        return f"{expr.head}{expr.open}\n{pad}{inner}\n{closing}"
    body = "".join(f"{pad}{render(item, indent + INDENT, ',')}\n" for item in expr.items)
    return f"{expr.head}{expr.open}\n{body}{closing}"
