"""Transactions: one per call, read-only where the spec says so, driver errors translated.

Capabilities declared `side_effects: NONE` run in a transaction the database itself keeps
read-only (`PRAGMA query_only` on SQLite, `SET TRANSACTION READ ONLY` on PostgreSQL). A driver
error becomes a `StorageError` carrying the capability's own reason code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from ecm_contract import Role
from sqlalchemy.engine import Connection, Engine

from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.errors import AppendOnlyViolation, ContractViolation, ReadOnlyViolation
from ecm_runtime.refusals import Refusals
from ecm_runtime.schema import APPEND_ONLY_MESSAGE


class Transactions:
    def __init__(self, engine: Engine, refusals: Refusals) -> None:
        self.engine = engine
        self.refusals = refusals

    @contextmanager
    def begin(self, *, read_only: bool, spec: CapabilitySpec | None = None) -> Iterator[Connection]:
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.connect() as connection:
            connection = connection.execution_options(ecm_read_only=read_only)
            # query_only is state of the SQLite connection, not of a transaction: set it on the
            # driver's connection, where it does not open one.
            driver = connection.connection.driver_connection if sqlite else None
            try:
                if read_only and driver is not None:
                    driver.execute("PRAGMA query_only = ON")
                with connection.begin():
                    if read_only and not sqlite:
                        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                    yield connection
            except sa.exc.DBAPIError as error:
                raise self._translate(error, spec) from error
            finally:
                if read_only and driver is not None:
                    driver.execute("PRAGMA query_only = OFF")

    def _translate(self, error: sa.exc.DBAPIError, spec: CapabilitySpec | None) -> Exception:
        text = str(error.orig)
        if spec is None:
            return error
        code = self.refusals.code
        if APPEND_ONLY_MESSAGE in text:
            return AppendOnlyViolation(code(spec, Role.APPEND_ONLY_VIOLATION), text)
        if "read-only" in text or "readonly" in text or "query_only" in text:
            return ReadOnlyViolation(code(spec, Role.CONTRACT_VALIDATION), text)
        if isinstance(error, sa.exc.IntegrityError | sa.exc.DataError):
            # A value the database cannot hold (a NUL in PostgreSQL text, say) is bad input.
            return ContractViolation(code(spec, Role.CONTRACT_VALIDATION), text)
        return error
