"""Type strings for generated code, computed here so templates only place them.

Modules in the generated package import each other under short private names: `t` (typing),
`pd` (pydantic), `sa` (sqlalchemy), `_f` (the package's fields), `_r` (its records). No name a
spec chooses can start with `_` or equal a one- or two-letter lowercase module alias that is
also a field, because fields are snake_case words and these aliases are reserved below.
"""

from __future__ import annotations

from ecmc.filters import pyrepr
from ecmc.ir import Scalar
from ecmc.layout import Atom, Expr, call, subscript

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def scalar_annotation(scalar: Scalar) -> Expr:
    """The pydantic annotation of a field type."""
    annotation: Expr
    if scalar.base == "string":
        annotation = _annotated("pd.StrictStr", _bounds("min_length", "max_length", scalar))
    elif scalar.base == "int":
        annotation = _annotated("pd.StrictInt", _bounds("ge", "le", scalar))
    elif scalar.base == "bool":
        annotation = Atom("pd.StrictBool")
    elif scalar.base == "json":
        annotation = Atom("pd.JsonValue")
    elif scalar.base == "enum":
        annotation = subscript("t.Literal", *(pyrepr(label) for label in scalar.labels))
    else:  # pragma: no cover - the dictionary admits no other base
        raise ValueError(scalar.base)
    return subscript("tuple", annotation, "...") if scalar.is_list else annotation


def _bounds(low_name: str, high_name: str, scalar: Scalar) -> list[str]:
    parts = []
    if scalar.minimum is not None:
        parts.append(f"{low_name}={scalar.minimum}")
    if scalar.maximum is not None:
        parts.append(f"{high_name}={scalar.maximum}")
    return parts


def _annotated(base: str, constraints: list[str]) -> Expr:
    if not constraints:
        return Atom(base)
    return subscript("t.Annotated", base, call("pd.Field", *constraints))


def sql_type(scalar: Scalar) -> str:
    """The SQLAlchemy column type of a field type."""
    if scalar.is_list or scalar.base == "json":
        return 'sa.JSON().with_variant(JSONB(), "postgresql")'
    if scalar.base == "string":
        return f"sa.String({scalar.maximum})" if scalar.maximum is not None else "sa.Text()"
    if scalar.base == "enum":
        return f"sa.String({max(len(label) for label in scalar.labels)})"
    if scalar.base == "bool":
        return "sa.Boolean()"
    low = scalar.minimum if scalar.minimum is not None else INT64[0]
    high = scalar.maximum if scalar.maximum is not None else INT64[1]
    if INT32[0] <= low and high <= INT32[1]:
        return "sa.Integer()"
    if INT64[0] <= low and high <= INT64[1]:
        return "sa.BigInteger()"
    digits = max(len(str(abs(low))), len(str(abs(high))))
    if low >= 0:
        return f"UnsignedDecimal({digits})"
    return f"sa.Numeric({digits}, 0)"


IDENTITY_SQL_TYPE = 'sa.BigInteger().with_variant(sa.Integer(), "sqlite")'
"""Monotonic ids: BIGSERIAL on PostgreSQL, the rowid alias on SQLite (its autoincrement)."""
