"""Column types (and a default) the generated tables use beyond SQLAlchemy's own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Dialect, Numeric, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine


class UnsignedDecimal(TypeDecorator[int]):
    """An exact unsigned integer wider than 64 bits (u64 counters, 128-bit ids).

    PostgreSQL stores it as NUMERIC(digits, 0). SQLite has no exact integer past 2**63, so
    there it is text, zero-padded to `digits` so that text order is numeric order.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, digits: int) -> None:
        super().__init__(precision=digits, scale=0)
        self.digits = digits

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.digits))
        return dialect.type_descriptor(Numeric(precision=self.digits, scale=0))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return str(value).zfill(self.digits)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class SignedDecimal(UnsignedDecimal):
    """An exact signed integer wider than 64 bits (a NUMERIC(39, 0) id).

    On SQLite it is text holding the value plus 10**digits, zero-padded to digits + 1, so that
    every value is non-negative and text order is still numeric order.
    """

    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.digits + 1))
        return dialect.type_descriptor(Numeric(precision=self.digits, scale=0))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return str(value + 10**self.digits).zfill(self.digits + 1)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(value) - 10**self.digits if dialect.name == "sqlite" else int(value)


class UtcNowText(FunctionElement[str]):
    """The database's clock as ISO-8601 UTC text to the millisecond
    (`2026-12-03T08:57:34.123Z`): a text column's `now` default, spelled alike by both
    backends so a row defaulted on SQLite reads as one defaulted on PostgreSQL."""

    type = String()
    name = "utc_now_text"
    inherit_cache = True


@compiles(UtcNowText)
def _named_now(element: UtcNowText, compiler: SQLCompiler, **kw: Any) -> str:
    """Its name, where no backend renders it (a schema difference, as text)."""
    return "utc_now_text()"


@compiles(UtcNowText, "sqlite")
def _sqlite_now(element: UtcNowText, compiler: SQLCompiler, **kw: Any) -> str:
    return "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


@compiles(UtcNowText, "postgresql")
def _postgresql_now(element: UtcNowText, compiler: SQLCompiler, **kw: Any) -> str:
    return "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
