"""Type strings for generated code, computed here so templates only place them.

Modules in the generated package import each other under short private names: `t` (typing),
`pd` (pydantic), `sa` (sqlalchemy), `_f` (the package's fields), `_r` (its records). No name a
spec chooses can start with `_` or equal a one- or two-letter lowercase module alias that is
also a field, because fields are snake_case words and these aliases are reserved below. Each
name is asked of the module's `Imports`, so the module imports exactly what it uses.
"""

from __future__ import annotations

import dataclasses

from ecmc.emit.imports import Imports
from ecmc.emit.layout import Atom, Expr, call, subscript
from ecmc.emit.literals import pyrepr
from ecmc.ir import Scalar

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


FIELDS_MODULE_IMPORTS = frozenset({"t", "pd", "JsonLimits"})
"""The names the field types below import into fields.py, which no field alias may take."""


def scalar_annotation(scalar: Scalar, imports: Imports, description: str = "") -> Expr:
    """The pydantic annotation of a field type, with its description when it has one (the
    JSON Schema of every model that uses the field carries it)."""
    pd = imports.module("pydantic", "pd")
    described = [f"description={pyrepr(description)}"] if description else []
    if scalar.is_list:
        item = scalar_annotation(dataclasses.replace(scalar, is_list=False), imports)
        listed = subscript("tuple", item, "...")
        if not described:
            return listed
        return subscript(
            f"{imports.module('typing', 't')}.Annotated", listed, call(f"{pd}.Field", *described)
        )
    annotation: Expr
    if scalar.base == "string":
        annotation = _annotated(
            f"{pd}.StrictStr",
            _bounds("min_length", "max_length", scalar, imports, described),
            imports,
        )
    elif scalar.base == "int":
        bounds = _bounds("ge", "le", scalar, imports, described)
        annotation = _annotated(f"{pd}.StrictInt", bounds, imports)
    elif scalar.base == "float":
        finite = [call(f"{pd}.Field", "allow_inf_nan=False")]  # NaN, Infinity: no JSON numbers
        metadata = _bounds("", "", scalar, imports, described) + finite
        annotation = _annotated(f"{pd}.StrictFloat", metadata, imports)
    elif scalar.base == "bool":
        annotation = _annotated(
            f"{pd}.StrictBool", _bounds("", "", scalar, imports, described), imports
        )
    elif scalar.base == "json":
        metadata = _bounds("", "", scalar, imports, described) + _json_limits(scalar, imports)
        annotation = _annotated(f"{pd}.JsonValue", metadata, imports)
    elif scalar.base == "object":
        entries = _bounds("min_length", "max_length", scalar, imports, described)
        annotation = _annotated(
            f"dict[str, {pd}.JsonValue]", entries + _json_limits(scalar, imports), imports
        )
    elif scalar.base == "enum":
        literal = f"{imports.module('typing', 't')}.Literal"
        labels = subscript(literal, *(pyrepr(label) for label in scalar.labels))
        annotation = _annotated_expr(labels, _bounds("", "", scalar, imports, described), imports)
    else:  # pragma: no cover - the dictionary admits no other base
        raise ValueError(scalar.base)
    return annotation


def _bounds(
    low_name: str, high_name: str, scalar: Scalar, imports: Imports, described: list[str]
) -> list[Expr]:
    """A `pd.Field(...)` with the description and the bounds (by these keyword names), if
    there is any of them."""
    parts = list(described)
    if not low_name:
        return [call(f"{imports.module('pydantic', 'pd')}.Field", *parts)] if parts else []
    if scalar.minimum is not None:
        parts.append(f"{low_name}={scalar.minimum}")
    if scalar.maximum is not None:
        parts.append(f"{high_name}={scalar.maximum}")
    if not parts:
        return []
    return [call(f"{imports.module('pydantic', 'pd')}.Field", *parts)]


def _json_limits(scalar: Scalar, imports: Imports) -> list[Expr]:
    limits = [
        f"{name}={value}"
        for name, value in (
            ("max_bytes", scalar.max_bytes),
            ("string_min", scalar.string_min),
            ("string_max", scalar.string_max),
        )
        if value is not None
    ]
    if not limits:
        return []
    return [call(imports.name("ecm_runtime.models", "JsonLimits"), *limits)]


def _annotated(base: str, metadata: list[Expr], imports: Imports) -> Expr:
    return _annotated_expr(Atom(base), metadata, imports)


def _annotated_expr(base: Expr, metadata: list[Expr], imports: Imports) -> Expr:
    if not metadata:
        return base
    return subscript(f"{imports.module('typing', 't')}.Annotated", base, *metadata)


def sql_type(scalar: Scalar, imports: Imports) -> str:
    """The SQLAlchemy column type of a field type."""
    sa = imports.module("sqlalchemy", "sa")
    if scalar.is_list or scalar.base in ("json", "object"):
        jsonb = imports.name("sqlalchemy.dialects.postgresql", "JSONB")
        return f'{sa}.JSON().with_variant({jsonb}(), "postgresql")'
    if scalar.base == "string":
        return f"{sa}.String({scalar.maximum})" if scalar.maximum is not None else f"{sa}.Text()"
    if scalar.base == "enum":
        return f"{sa}.String({max(len(label) for label in scalar.labels)})"
    if scalar.base == "bool":
        return f"{sa}.Boolean()"
    if scalar.base == "float":
        return f"{sa}.Double()"
    low = scalar.minimum if scalar.minimum is not None else INT64[0]
    high = scalar.maximum if scalar.maximum is not None else INT64[1]
    if INT32[0] <= low and high <= INT32[1]:
        return f"{sa}.Integer()"
    if INT64[0] <= low and high <= INT64[1]:
        return f"{sa}.BigInteger()"
    digits = max(len(str(abs(low))), len(str(abs(high))))
    wide = "UnsignedDecimal" if low >= 0 else "SignedDecimal"
    return f"{imports.name('ecm_runtime.sqltypes', wide)}({digits})"


def identity_sql_type(imports: Imports) -> str:
    """Monotonic ids: BIGSERIAL on PostgreSQL, the rowid alias on SQLite (its autoincrement)."""
    sa = imports.module("sqlalchemy", "sa")
    return f'{sa}.BigInteger().with_variant({sa}.Integer(), "sqlite")'
