"""Backends for the storage contract tests, and payloads made from the catalog's schemas."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ecm_runtime import Runtime
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.testing import example_input, narrowed

PG_SERVER = os.environ.get("ECM_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema of its own, dropped afterwards."""
    schema = f"ecm_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_SERVER)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as error:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must run in CI, but {PG_SERVER} is unreachable: {error}")
        pytest.skip(f"PostgreSQL at {PG_SERVER} is unreachable; its storage tests are skipped")
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


BACKENDS = ("sqlite", "postgresql")

APP_ROLE = os.environ["ECM_APP_ROLE"] = f"ecm_app_test_{uuid.uuid4().hex[:12]}"
"""The application role migrations grant in tests: one of the run's own (roles are the whole
server's), dropped when the run ends (tests/conftest.py)."""


def drop_app_role() -> None:
    admin = sa.create_engine(PG_SERVER)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{APP_ROLE}"')
    except sa.exc.OperationalError:
        pass  # no server, so no role
    finally:
        admin.dispose()


def backend_runtime(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A runtime on one backend for a whole module; a PostgreSQL schema is dropped after."""
    if backend == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('rt') / 'ecm.sqlite3'}"])
    else:
        urls = postgres_url()
    runtime = Runtime.open(next(urls))
    yield runtime
    runtime.close()
    for _ in urls:  # drops the PostgreSQL schema
        pass


def table_counts(rt: Runtime) -> Counter[str]:
    """Rows in every table of the runtime's package."""
    with rt.engine.connect() as connection:
        return Counter(
            {
                name: int(
                    connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                )
                for name, t in rt.metadata.tables.items()
            }
        )


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ecm.sqlite3'}"


def example(schema: dict[str, Any], name: str = "", defs: dict[str, Any] | None = None) -> Any:
    """A value that satisfies a JSON Schema made by pydantic (the subset it emits)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return example(defs[schema["$ref"].rsplit("/", 1)[-1]], name, defs)
    if "anyOf" in schema and "properties" in schema:
        return example(narrowed(schema, schema["anyOf"][0]), name, defs)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return example(options[0], name, defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        return {
            key: example(value, key, defs)
            for key, value in schema["properties"].items()
            if key in schema.get("required", [])
        }
    if kind == "string":
        text = f"{name or 's'}-1"
        low, high = schema.get("minLength", 1), schema.get("maxLength", 64)
        return (text * (low // len(text) + 1))[: max(low, min(len(text), high))]
    if kind == "integer":
        low, high = schema.get("minimum", 0), schema.get("maximum", 10**6)
        return min(max(1, low), high)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return {}


def legal_input(rt: Runtime, spec: CapabilitySpec) -> dict[str, Any]:
    """An input the capability's schema admits that its runtime also runs: a reason code its
    spec declares and, for an append to a ledger a lifecycle governs, the transition that
    creates a subject (state decides the rest: no schema can say it)."""
    payload = example_input(spec)
    governing = rt.lifecycles.governing.get(spec.table or "")
    if governing is not None and spec.operation == "append":
        first = next(t for t in governing.transitions if not t.from_states)
        payload[governing.action_column] = first.action
        payload[governing.state_column] = first.to_state
        if first.reason_code is not None and "reason_code" in payload:
            payload["reason_code"] = first.reason_code
    return payload


def backend_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database URL of a backend for one test (a PostgreSQL schema, dropped after)."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        yield from postgres_url()


def runtime_on(
    backend: str, tmp_path: Path, clock: Callable[[], int] | None = None
) -> Iterator[Runtime]:
    """A runtime on a backend for one test, closed (and its schema dropped) after."""
    for url in backend_url(backend, tmp_path):
        runtime = Runtime.open(url, clock=clock) if clock else Runtime.open(url)
        try:
            yield runtime
        finally:
            runtime.close()
