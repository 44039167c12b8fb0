"""`tables.py`: SQLAlchemy Core tables on one shared MetaData, with their keys and indexes."""

from __future__ import annotations

from collections.abc import Mapping

from blake3 import blake3
from ecm_contract import (
    CHAIN_DIGEST_COLUMN,
    CHAIN_SEQ_COLUMN,
    POSITION_COLUMN,
    TABLE_FACT_NAMES,
    TruthType,
)

from ecmc.emit.imports import Imports
from ecmc.emit.layout import Expr, call, dict_of, literal, prefixed, render
from ecmc.emit.literals import pyrepr, source_line
from ecmc.emit.names import PythonIdentifier, snake
from ecmc.emit.pytypes import identity_sql_type, sql_type
from ecmc.ir import Column, ForeignKey, Key, Program, Table
from ecmc.resolve.keys import tenant_part, tenant_scoped_reference
from ecmc.resolve.table_keys import NOW

_TABLES_MODULE_NAMES = frozenset({"sa", "metadata", "JSONB", "UnsignedDecimal"})


def tables_view(program: Program, package: str) -> dict[str, object]:
    imports = Imports(package)
    imports.module("sqlalchemy", "sa")
    by_name = {table.name: table for table in program.tables}
    tables = [_table_view(table, imports, by_name) for table in program.tables]
    return {"imports": imports.render(), "tables": tables}


def _table_view(table: Table, imports: Imports, tables: Mapping[str, Table]) -> dict[str, object]:
    variable = snake(table.name)
    if variable in _TABLES_MODULE_NAMES:
        variable = PythonIdentifier(f"{variable}_table")
    items: list[Expr | str] = [pyrepr(table.name), "metadata"]
    items.extend(_column(table, column, imports, tables) for column in table.columns)
    if table.truth_type is TruthType.LEDGER:
        items.append(call("sa.Column", pyrepr(POSITION_COLUMN), "sa.BigInteger()", "nullable=True"))
        items.append(
            call("sa.Column", pyrepr(CHAIN_SEQ_COLUMN), "sa.BigInteger()", "nullable=True")
        )
        digest = call("sa.Column", pyrepr(CHAIN_DIGEST_COLUMN), "sa.String(71)", "nullable=True")
        items.append(digest)
    items.extend(_composite_references(table, tables))
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
    if table.truth_type is TruthType.LEDGER and table.identity:
        statements.append(_position_index(table, variable))
    return {"statements": statements}


def _position_index(table: Table, variable: str) -> dict[str, str]:
    """The order a reader of the log takes rows in on PostgreSQL. Partial: on SQLite the
    column stays NULL, and the index costs a write nothing."""
    position = f"{variable}.c[{pyrepr(POSITION_COLUMN)}]"
    condition = f"{position}.is_not(None)"
    index = call(
        "sa.Index",
        pyrepr(_short_name(f"ix_{table.name}", "position")),
        position,
        f"{variable}.c[{pyrepr(table.identity)}]",
        prefixed("sqlite_where=", condition),
        prefixed("postgresql_where=", condition),
    )
    return {"source": source_line(table.span), "code": render(index)}


def _column(table: Table, column: Column, imports: Imports, tables: Mapping[str, Table]) -> Expr:
    is_identity = column.name == table.identity
    args: list[Expr | str] = [
        pyrepr(column.name),
        identity_sql_type(imports) if is_identity else sql_type(column.type, imports),
    ]
    args.extend(
        call("sa.ForeignKey", pyrepr(f"{fk.table}.{fk.target_columns[0]}"))
        for fk in table.foreign_keys
        if fk.columns == (column.name,) and _plain_reference(fk, table, tables)
    )
    if is_identity:
        args.append("autoincrement=True")
    elif table.primary_key == (column.name,) and column.type.base == "int":
        # A key the database does not number: SQLAlchemy would make it SERIAL otherwise.
        args.append("autoincrement=False")
    args.append(f"nullable={column.nullable}")
    if column.default is not None:
        args.append(prefixed("server_default=", _server_default(column, imports)))
    return call("sa.Column", *args)


def _server_default(column: Column, imports: Imports) -> Expr | str:
    if column.default == NOW:
        return f"{imports.name('ecm_runtime.sqltypes', 'UtcNowText')}()"
    if column.type.base == "bool":
        return "sa.true()" if column.default == "true" else "sa.false()"
    return call("sa.text", pyrepr(_sql_literal(column)))


def _sql_literal(column: Column) -> str:
    value = column.default or ""
    if column.type.base in ("int", "float"):
        return value
    return "'" + value.replace("'", "''") + "'"


def _plain_reference(fk: ForeignKey, table: Table, tables: Mapping[str, Table]) -> bool:
    """A one-column reference that is not half of a tenant-scoped one: written on its column."""
    return (
        len(fk.columns) == 1
        and not tenant_scoped_reference(fk, table, tables)
        and not tenant_part(fk, table, tables)
    )


def _composite_references(table: Table, tables: Mapping[str, Table]) -> list[Expr]:
    """References of several columns, and those made so by naming the target within the
    tenant (the tenant column first on both sides)."""
    found: list[Expr] = []
    for fk in table.foreign_keys:
        if _plain_reference(fk, table, tables) or tenant_part(fk, table, tables):
            continue
        columns, targets = fk.columns, fk.target_columns
        if tenant_scoped_reference(fk, table, tables):
            columns = (str(table.tenant_column), *columns)
            targets = (str(tables[fk.table].tenant_column), *targets)
        names = tuple(f"{fk.table}.{c}" for c in targets)
        found.append(call("sa.ForeignKeyConstraint", literal(columns), literal(names)))
    return found


def _enum_checks(table: Table) -> list[Expr]:
    """An enum column holds one of its labels: checked by the database too."""
    checks: list[Expr] = []
    for column in table.columns:
        if column.type.base == "enum" and not column.type.is_list:
            allowed = call(f"sa.column({pyrepr(column.name)}).in_", literal(column.type.labels))
            name = f"name={pyrepr(_short_name(f'ck_{table.name}_{column.name}'))}"
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
    """Unique keys, partial unique idempotency keys and plain indexes, as sa.Index calls. A
    unique key over a nullable tenant column gets a companion for the system scope (rows of
    no tenant), where the database would otherwise take every NULL tenant as distinct."""
    statements = []
    nullable = {c.name for c in table.columns if c.nullable}
    tenant = table.tenant_column
    for key, unique, partial in (
        *((k, True, False) for k in table.unique_keys),
        *((k, True, True) for k in table.idempotency_keys),
        *((k, False, False) for k in table.indexes),
    ):
        statements.append(_index(key.name, key.columns, unique, partial, nullable, variable, key))
        if unique and tenant in nullable and tenant in key.columns:
            others = tuple(c for c in key.columns if c != tenant)
            name = _system_scope_name(key.name)
            scope = f"{variable}.c[{pyrepr(tenant)}].is_(None)"
            statements.append(_index(name, others, True, partial, nullable, variable, key, scope))
    return statements


def _index(
    name: str,
    columns: tuple[str, ...],
    unique: bool,
    partial: bool,
    nullable: set[str],
    variable: str,
    key: Key,
    scope: str | None = None,
) -> dict[str, str]:
    args: list[Expr | str] = [pyrepr(name)]
    args.extend(
        f"{variable}.c[{pyrepr(c)}]" + (".desc()" if c in key.descending else "") for c in columns
    )
    if unique:
        args.append("unique=True")
    where = [scope] if scope else []
    if partial:
        where.extend(f"{variable}.c[{pyrepr(c)}].is_not(None)" for c in columns if c in nullable)
    where.extend(_holds(variable, column, value) for column, value in key.where)
    if where:
        condition: Expr | str = where[0] if len(where) == 1 else call("sa.and_", *where)
        args.append(prefixed("sqlite_where=", condition))
        args.append(prefixed("postgresql_where=", condition))
    return {"source": source_line(key.span), "code": render(call("sa.Index", *args))}


def _holds(variable: str, column: str, value: str) -> str:
    """One pair of a partial key's condition, as SQLAlchemy states it."""
    if value in ("true", "false"):
        return f"{variable}.c[{pyrepr(column)}].is_(sa.{value}())"
    literal_value = int(value) if value.lstrip("-").isdigit() else value
    return f"{variable}.c[{pyrepr(column)}] == {pyrepr(literal_value)}"


def _system_scope_name(key: str) -> str:
    return _short_name(key, "system")


def _short_name(stem: str, suffix: str = "") -> str:
    """`<stem>_<suffix>` (the stem alone without one), shortened where it would pass SQL's
    63-character limit: the stem is cut, the suffix kept, and a digest of the stem keeps
    shortened names apart."""
    tail = f"_{suffix}" if suffix else ""
    if len(stem) + len(tail) <= 63:
        return stem + tail
    return f"{stem[: 54 - len(tail)]}_{blake3(stem.encode()).hexdigest()[:8]}{tail}"
