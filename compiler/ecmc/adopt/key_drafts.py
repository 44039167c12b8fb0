"""The keys of an imported table as its drafted wiring entry states them: unique keys (partial
business guards with their `where`), idempotency keys, indexes in their order, foreign keys
(composite ones whole), column defaults, each key a tenant's own where the rows are."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

from ecmc.adopt.sql import SqlForeignKey, SqlKey, SqlTable

TENANT_COLUMNS = ("tenant_id",)
_NOT_NULL = re.compile(r"(\w+) IS NOT NULL")
_EQUALS = re.compile(r"(\w+) = (?:'([A-Za-z0-9_]+)'|(TRUE|FALSE|-?[0-9]+))", re.IGNORECASE)


def serial_key(table: SqlTable) -> str | None:
    """The table's one-column serial primary key: the rows' database-numbered identity."""
    if len(table.primary_key) != 1:
        return None
    column = table.columns.get(table.primary_key[0])
    return column.name if column is not None and column.serial else None


def tenant_of(table: SqlTable | None) -> str | None:
    return next((c for c in TENANT_COLUMNS if table and c in table.columns), None)


def tenants_own(
    columns: tuple[str, ...], tenant: str, what: str, scoped: list[str]
) -> tuple[str, ...]:
    """A key as the tenant's own: with the tenant column first when the SQL left it out
    (noted in `scoped`, for the entry's description)."""
    if tenant in columns:
        return columns
    scoped.append(what)
    return (tenant, *columns)


def key_lines(
    table: SqlTable, tenant: str | None, scoped: list[str], notes: list[str]
) -> list[str]:
    """`unique_keys` (partial guards with their condition), `idempotency_keys`, `indexes`."""
    full = [k for k in table.unique_keys if k.where is None]
    partial = [k for k in table.unique_keys if is_idempotency(table, k)]
    for key in table.unique_keys:
        if key.where is None or key in partial:
            continue
        if guard_pins(key) is None:
            notes.append(
                f"partial unique key {key.name} ({key.at}) left out: its condition "
                f"{key.where!r} is not 'column = value' pairs a spec can state"
            )
        else:
            full.append(key)
    if tenant:
        full = [_scoped_key(k, tenant, scoped) for k in full]
        partial = [_scoped_key(k, tenant, scoped) for k in partial]
    return (
        _keys("unique_keys", full)
        + _keys("idempotency_keys", partial)
        + _keys("indexes", table.indexes)
    )


def guard_pins(key: SqlKey) -> tuple[tuple[str, str], ...] | None:
    """A partial key's condition as `column=value` pairs (`status = 'ACTIVE' AND active =
    TRUE`); None when it says something else."""
    if key.where is None:
        return ()
    pairs = []
    for part in key.where.split(" AND "):
        found = _EQUALS.fullmatch(part.strip().strip("()"))
        if found is None:
            return None
        label, word = found.group(2), found.group(3)
        pairs.append((found.group(1), label if label is not None else word.lower()))
    return tuple(pairs)


def _scoped_key(key: SqlKey, tenant: str, scoped: list[str]) -> SqlKey:
    columns = tenants_own(key.columns, tenant, key.name, scoped)
    return key if columns == key.columns else dataclasses.replace(key, columns=columns)


def is_idempotency(table: SqlTable, key: SqlKey) -> bool:
    """A partial unique index whose condition is exactly 'every nullable column of the key is
    set': the compiler's idempotency key."""
    if key.where is None:
        return False
    required = {_NOT_NULL.fullmatch(part.strip()) for part in key.where.split(" AND ")}
    named = {m.group(1) for m in required if m is not None}
    nullable = {c for c in key.columns if table.columns[c].nullable}
    return None not in required and named == nullable


def _keys(kind: str, keys: Iterable[SqlKey]) -> list[str]:
    found = []
    for key in keys:
        line = f"  - `{key.name}`: `({', '.join(key.columns)})`"
        pins = guard_pins(key) if kind == "unique_keys" else ()
        if pins:
            line += f" where `({', '.join(f'{c}={v}' for c, v in pins)})`"
        if key.descending and kind == "indexes":
            line += f" descending `({', '.join(key.descending)})`"
        found.append(line)
    return [f"- `{kind}`:", *found] if found else []


def default_lines(table: SqlTable) -> list[str]:
    pairs = [f"{c.name}={c.default}" for c in table.columns.values() if c.default is not None]
    return [f"- `defaults`: `({', '.join(pairs)})`"] if pairs else []


def foreign_key_lines(
    table: SqlTable, tenant: str | None, tables: Mapping[str, SqlTable], notes: list[str]
) -> list[str]:
    kept, dropped = _references(table, tenant, tables)
    notes += [
        f"foreign key {', '.join(fk.columns)} -> {fk.table}({', '.join(fk.target_columns)}) "
        f"left out: {fk.table} is keyed by its tenant, and this table holds no tenant to refer "
        "with"
        for fk in dropped
    ]
    if not kept:
        return []
    return ["- `foreign_keys`:", *(_reference(fk) for fk in kept)]


def _reference(fk: SqlForeignKey) -> str:
    if len(fk.columns) == 1:
        return f"  - `{fk.columns[0]}`: `{fk.table}.{fk.target_columns[0]}`"
    return f"  - `({', '.join(fk.columns)})`: `{fk.table}({', '.join(fk.target_columns)})`"


def _references(
    table: SqlTable, tenant: str | None, tables: Mapping[str, SqlTable]
) -> tuple[list[SqlForeignKey], list[SqlForeignKey]]:
    """The foreign keys to draft, and those left out: a reference into a tenant's rows by a
    table with no tenant column can no longer name a key (the target's keys hold the tenant)."""
    kept, dropped = [], []
    for fk in table.foreign_keys:
        referred = tables.get(fk.table)
        serial = serial_key(referred) if referred is not None else None
        if tenant_of(referred) and not tenant and fk.target_columns != (serial,):
            dropped.append(fk)
        else:
            kept.append(fk)
    return kept, dropped
