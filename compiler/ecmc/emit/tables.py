"""`tables.py`: SQLAlchemy Core tables on one shared MetaData, with their keys and indexes."""

from __future__ import annotations

from ecm_contract import TABLE_FACT_NAMES

from ecmc.emit.imports import Imports
from ecmc.emit.layout import Expr, call, dict_of, literal, prefixed, render
from ecmc.emit.literals import pyrepr, source_line
from ecmc.emit.names import PythonIdentifier, snake
from ecmc.emit.pytypes import identity_sql_type, sql_type
from ecmc.ir import Column, Program, Table

_TABLES_MODULE_NAMES = frozenset({"sa", "metadata", "JSONB", "UnsignedDecimal"})


def tables_view(program: Program, package: str) -> dict[str, object]:
    imports = Imports(package)
    imports.module("sqlalchemy", "sa")
    tables = [_table_view(table, imports) for table in program.tables]
    return {"imports": imports.render(), "tables": tables}


def _table_view(table: Table, imports: Imports) -> dict[str, object]:
    variable = snake(table.name)
    if variable in _TABLES_MODULE_NAMES:
        variable = PythonIdentifier(f"{variable}_table")
    items: list[Expr | str] = [pyrepr(table.name), "metadata"]
    items.extend(_column(table, column, imports) for column in table.columns)
    items.append(
        call(
            "sa.PrimaryKeyConstraint",
            *(pyrepr(c) for c in table.primary_key),
            f"name={pyrepr(f'pk_{table.name}')}",
        )
    )
    items.extend(_enum_checks(table))
    if table.description:
        items.append(f"comment={pyrepr(table.description)}")
    items.append(prefixed("info=", _info(table)))
    statements = [
        {
            "source": source_line(table.span),
            "code": render(prefixed(f"{variable} = ", call("sa.Table", *items))),
        }
    ]
    statements.extend(_indexes(table, variable))
    return {"statements": statements}


def _column(table: Table, column: Column, imports: Imports) -> Expr:
    is_identity = column.name == table.identity
    args: list[Expr | str] = [
        pyrepr(column.name),
        identity_sql_type(imports) if is_identity else sql_type(column.type, imports),
    ]
    args.extend(
        call("sa.ForeignKey", pyrepr(f"{fk.table}.{fk.target_column}"))
        for fk in table.foreign_keys
        if fk.column == column.name
    )
    if is_identity:
        args.append("autoincrement=True")
    args.append(f"nullable={column.nullable}")
    return call("sa.Column", *args)


def _enum_checks(table: Table) -> list[Expr]:
    """An enum column holds one of its labels: checked by the database too."""
    checks: list[Expr] = []
    for column in table.columns:
        if column.type.base == "enum" and not column.type.is_list:
            allowed = call(f"sa.column({pyrepr(column.name)}).in_", literal(column.type.labels))
            name = f"name={pyrepr(f'ck_{table.name}_{column.name}')}"
            checks.append(call("sa.CheckConstraint", allowed, name))
    return checks


def _info(table: Table) -> Expr:
    facts = {
        "engine_id": table.engine_id,
        "truth_type": table.truth_type,
        "projection_of": table.projection_of,
        "ttl_column": table.ttl_column,
        "identity": table.identity,
        "tenant_column": table.tenant_column,
        "scope": table.scope,
        "project": table.project,
        "idempotency_keys": tuple(k.columns for k in table.idempotency_keys),
        "source": source_line(table.span),
    }
    # The runtime reads these as ecm_contract.TableFacts: the same names, in its field order.
    info = [(name, facts[name]) for name in TABLE_FACT_NAMES]
    return dict_of(
        [(pyrepr(k), literal(v) if isinstance(v, tuple) else pyrepr(v)) for k, v in info]
    )


def _indexes(table: Table, variable: str) -> list[dict[str, str]]:
    """Unique keys, partial unique idempotency keys and plain indexes, as sa.Index calls."""
    statements = []
    nullable = {c.name for c in table.columns if c.nullable}
    for key, unique, partial in (
        *((k, True, False) for k in table.unique_keys),
        *((k, True, True) for k in table.idempotency_keys),
        *((k, False, False) for k in table.indexes),
    ):
        args: list[Expr | str] = [pyrepr(key.name)]
        args.extend(f"{variable}.c[{pyrepr(c)}]" for c in key.columns)
        if unique:
            args.append("unique=True")
        where = [f"{variable}.c[{pyrepr(c)}].is_not(None)" for c in key.columns if c in nullable]
        if partial and where:
            condition: Expr | str = where[0] if len(where) == 1 else call("sa.and_", *where)
            args.append(prefixed("sqlite_where=", condition))
            args.append(prefixed("postgresql_where=", condition))
        statements.append(
            {"source": source_line(key.span), "code": render(call("sa.Index", *args))}
        )
    return statements
