"""Type strings for generated code, computed here so templates only place them.

Modules in the generated package import each other under short private names: `t` (typing),
`pd` (pydantic), `sa` (sqlalchemy), `_f` (the package's fields), `_r` (its records). No name a
spec chooses can start with `_` or equal a one- or two-letter lowercase module alias that is
also a field, because fields are snake_case words and these aliases are reserved below. Each
name is asked of the module's `Imports`, so the module imports exactly what it uses.
"""

from __future__ import annotations

from ecmc.emit.imports import Imports
from ecmc.emit.layout import Atom, Expr, call, subscript
from ecmc.emit.literals import pyrepr
from ecmc.ir import Scalar

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def scalar_annotation(scalar: Scalar, imports: Imports) -> Expr:
    """The pydantic annotation of a field type."""
    pd = imports.module("pydantic", "pd")
    annotation: Expr
    if scalar.base == "string":
        annotation = _annotated(
            f"{pd}.StrictStr", _bounds("min_length", "max_length", scalar, imports), imports
        )
    elif scalar.base == "int":
        annotation = _annotated(f"{pd}.StrictInt", _bounds("ge", "le", scalar, imports), imports)
    elif scalar.base == "bool":
        annotation = Atom(f"{pd}.StrictBool")
    elif scalar.base == "json":
        annotation = _annotated(f"{pd}.JsonValue", _json_limits(scalar, imports), imports)
    elif scalar.base == "object":
        entries = _bounds("min_length", "max_length", scalar, imports)
        annotation = _annotated(
            f"dict[str, {pd}.JsonValue]", entries + _json_limits(scalar, imports), imports
        )
    elif scalar.base == "enum":
        literal = f"{imports.module('typing', 't')}.Literal"
        annotation = subscript(literal, *(pyrepr(label) for label in scalar.labels))
    else:  # pragma: no cover - the dictionary admits no other base
        raise ValueError(scalar.base)
    return subscript("tuple", annotation, "...") if scalar.is_list else annotation


def _bounds(low_name: str, high_name: str, scalar: Scalar, imports: Imports) -> list[Expr]:
    parts = []
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
    if not metadata:
        return Atom(base)
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
    low = scalar.minimum if scalar.minimum is not None else INT64[0]
    high = scalar.maximum if scalar.maximum is not None else INT64[1]
    if INT32[0] <= low and high <= INT32[1]:
        return f"{sa}.Integer()"
    if INT64[0] <= low and high <= INT64[1]:
        return f"{sa}.BigInteger()"
    digits = max(len(str(abs(low))), len(str(abs(high))))
    if low >= 0:
        return f"{imports.name('ecm_runtime.sqltypes', 'UnsignedDecimal')}({digits})"
    return f"{sa}.Numeric({digits}, 0)"


def identity_sql_type(imports: Imports) -> str:
    """Monotonic ids: BIGSERIAL on PostgreSQL, the rowid alias on SQLite (its autoincrement)."""
    sa = imports.module("sqlalchemy", "sa")
    return f'{sa}.BigInteger().with_variant({sa}.Integer(), "sqlite")'
