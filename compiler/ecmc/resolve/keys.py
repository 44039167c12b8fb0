"""What a table's keys say: which columns name one row, and whether a reference between two
tenants' tables stays within the tenant."""

from __future__ import annotations

from collections.abc import Mapping

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Bullet
from ecmc.ir import ForeignKey, Key, Table
from ecmc.span import Span


def tenant_scoped_reference(fk: ForeignKey, table: Table, tables: Mapping[str, Table]) -> bool:
    """Whether a foreign key names its target within the tenant: both tables hold tenants'
    rows and the target is keyed by (tenant, column), as every key of a tenant's rows is
    (ECM074). Such a key is (tenant column, column) on both sides, so a row can only refer to
    a row of its own tenant."""
    target = tables.get(fk.table)
    if target is None or not table.tenant_column or not target.tenant_column:
        return False
    if is_key(target, fk.target_columns) or table.tenant_column in fk.columns:
        return False
    return is_key(target, (target.tenant_column, *fk.target_columns))


def is_key(table: Table, columns: tuple[str, ...]) -> bool:
    """Whether `columns` are (in any order) the table's primary key or one of its unique keys
    (a partial one, unique only among the rows its condition holds for, names no row)."""
    keys = [table.primary_key, *(k.columns for k in table.unique_keys if not k.where)]
    return any(set(key) == set(columns) for key in keys)


def tenant_part(fk: ForeignKey, table: Table, tables: Mapping[str, Table]) -> bool:
    """Whether a foreign key is the tenant half of a tenant-scoped reference (SQL spells a
    composite key one column at a time): its tenant column to the target's, beside a
    reference of another column to the same table within the tenant."""
    target = tables.get(fk.table)
    return (
        target is not None
        and fk.columns == (table.tenant_column,)
        and fk.target_columns == (target.tenant_column,)
        and any(
            other.table == fk.table and tenant_scoped_reference(other, table, tables)
            for other in table.foreign_keys
            if other is not fk
        )
    )


def report_unscoped_keys(
    table: str,
    tenant: str,
    primary_key: tuple[str, ...],
    identity: str | None,
    keys: tuple[Key, ...],
    bullets: Mapping[str, Bullet],
    diagnostics: Diagnostics,
) -> None:
    """Every unique key of a tenant's rows is the tenant's own: it holds the tenant column
    (a database-numbered identity needs none: nobody chooses its values). ECM074."""
    stated: list[tuple[str, tuple[str, ...], Span]] = [
        (f"unique key {k.name}", k.columns, k.span) for k in keys
    ]
    if primary_key and primary_key != (identity,):
        stated.insert(0, ("primary key", primary_key, bullets["primary_key"].span))
    for what, columns, span in stated:
        if tenant not in columns:
            diagnostics.report(
                Code.UNSCOPED_KEY,
                span,
                f"table {table}: {what} ({', '.join(columns)}) leaves out the tenant column "
                f"{tenant}: a key shared across tenants refuses one tenant's row because "
                "another tenant holds it, which tells it so, and keeps the table from being "
                f"distributed by tenant; add {tenant} to the key",
            )
