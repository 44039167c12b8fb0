"""A catalog object (ecm_contract.catalog) as the Python expression that builds it: its
constructor called with every field that differs from the field's default, by name.

Serialising by the objects' own fields is what keeps the generated package and the contract
one truth: a new contract field is stated by every package built after it with no change
here (the way sqlglot's generator renders each node by its class).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from enum import Enum

from ecm_contract.catalog import defaults

from ecmc.emit.imports import Imports
from ecmc.emit.layout import Atom, Expr, call, prefixed, tuple_of
from ecmc.emit.literals import pyrepr


def contract_literal(
    value: object, imports: Imports, named: Mapping[object, str] | None = None
) -> Expr | str:
    """`value` as an expression; a value in `named` (a shared tuple, a tool path) by the
    module constant that holds it."""
    if named and (isinstance(value, tuple) or is_dataclass(value)) and value in named:
        return named[value]
    if isinstance(value, Enum):
        return f"{imports.name(type(value).__module__, type(value).__name__)}.{value.name}"
    if is_dataclass(value) and not isinstance(value, type):
        return call(
            imports.name(type(value).__module__, type(value).__name__),
            *(prefixed(f"{k}=", v) for k, v in stated(value, imports, named)),
        )
    if isinstance(value, tuple):
        if not value:
            return Atom("()")
        return tuple_of(*(contract_literal(v, imports, named) for v in value))
    return pyrepr(value)


def stated(
    value: object, imports: Imports, named: Mapping[object, str] | None = None
) -> list[tuple[str, Expr | str]]:
    """The (field, expression) pairs of a catalog object that differ from their defaults."""
    default = defaults(type(value))
    return [
        (f.name, contract_literal(getattr(value, f.name), imports, named))
        for f in fields(value)  # type: ignore[arg-type]
        if f.name not in default or getattr(value, f.name) != default[f.name]
    ]
