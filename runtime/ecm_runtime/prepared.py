"""Statements compiled once and run on the call's own driver connection.

A single write's insert costs the driver ~30 µs, and SQLAlchemy's per-execute machinery
(parameter construction, execution context, result wrapping) several times that
(bench/bench_runtime.py). The hot statements of a write are therefore compiled once per
dialect and column set and handed to the driver directly: same transaction, same connection,
the column types' own bind processing, and driver errors raised as SQLAlchemy's DBAPIError
like those of every other statement. Engine events (`before_cursor_execute`, `echo`) do not
see these statements. Generated tables leave every default to the database (no Python-side
`default=`), so the row is all a statement binds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from ecm_contract.invariants import BrokenInvariant, of_type
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


class Prepared:
    """One compiled statement and how to bind a row of plain values to it."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, columns: Sequence[str]) -> None:
        """`columns`: the names the rows bind, as SQLAlchemy would take them from the
        parameters of an execution (an insert's column list); the statement binds nothing else."""
        compiled = of_type(
            statement.compile(dialect=dialect, column_keys=list(columns)),
            SQLCompiler,
            "a prepared statement's compilation",
        )
        self.sql = compiled.string
        self.dialect = dialect
        self.positional = dialect.positional
        names = compiled.positiontup if dialect.positional else list(compiled.binds)
        binding: list[tuple[str, str, Callable[[Any], Any] | None]] = []
        for name in names or ():
            bind = compiled.binds[name]
            if bind.key not in columns:
                raise BrokenInvariant(f"{self.sql}: binds {bind.key}, which no row holds")
            binding.append(
                (name, bind.key, bind.type.dialect_impl(dialect).bind_processor(dialect))
            )
        self.binding = tuple(binding)
        """(parameter name, row key, the column type's bind processor) in the driver's order:
        what SQLAlchemy's construct_params and processors do, without their per-call work."""

    def execute(self, connection: Connection, row: Mapping[str, Any]) -> Any:
        """Run on the connection's driver connection; the driver's cursor, not yet read."""
        values = [
            row[key] if process is None else process(row[key]) for _, key, process in self.binding
        ]
        bound: Any = (
            tuple(values)
            if self.positional
            else {name: value for (name, _, _), value in zip(self.binding, values, strict=True)}
        )
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with DriverErrors(self.dialect, self.sql, bound):
                cursor.execute(self.sql, bound)
        except sa.exc.DBAPIError:
            cursor.close()
            raise
        return cursor


class DriverErrors:
    """The driver's errors raised as SQLAlchemy raises those of the statements it runs. A
    class, not a generator: it wraps every statement a write runs on the driver."""

    __slots__ = ("dialect", "params", "statement")

    def __init__(self, dialect: Dialect, statement: str | None = None, params: Any = None):
        self.dialect, self.statement, self.params = dialect, statement, params

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        dbapi_error = self.dialect.loaded_dbapi.Error
        if isinstance(error, dbapi_error):
            raise sa.exc.DBAPIError.instance(
                self.statement, self.params, error, dbapi_error, dialect=self.dialect
            ) from error
