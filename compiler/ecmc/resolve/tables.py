"""Tables of the wiring specs: columns, keys, truth type, scope, projection."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ecm_contract import Scope, TruthType

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import bullet_names, keyed, name_list, pin_list, value_text
from ecmc.frontend.syntax import Bullet, CompanionSection, Entry, Text
from ecmc.ir import Column, ForeignKey, Key, Table
from ecmc.resolve.companions import Companion
from ecmc.resolve.types import TypeResolver
from ecmc.typeref import ErrorRef, ScalarRef

TABLE_KEYS = frozenset(
    {
        "truth_type",
        "columns",
        "primary_key",
        "identity",
        "unique_keys",
        "idempotency_keys",
        "indexes",
        "foreign_keys",
        "projection_of",
        "ttl_column",
        "tenant_column",
        "scope",
        "project",
        "description",
    }
)


SQL_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def resolve_tables(
    sections: list[tuple[Companion, CompanionSection]],
    resolver: TypeResolver,
    diagnostics: Diagnostics,
) -> list[Table]:
    tables: dict[str, Table] = {}
    for companion, section in sections:
        for entry in section.entries:
            table = _table(companion.engine_id or "", entry, resolver, diagnostics)
            if table is None:
                continue
            if table.name in tables:
                diagnostics.report(
                    Code.DUPLICATE_TABLE,
                    entry.name.span,
                    f"table {table.name!r} is defined twice",
                    f"first at {tables[table.name].span}",
                )
                continue
            tables[table.name] = table
    for table in tables.values():
        _check_table_links(table, tables, diagnostics)
    return list(tables.values())


def _table(
    engine_id: str, entry: Entry, resolver: TypeResolver, diagnostics: Diagnostics
) -> Table | None:
    name = entry.name.text
    if not SQL_NAME.fullmatch(name):
        diagnostics.report(
            Code.BAD_TABLE,
            entry.name.span,
            f"table name {name!r} must be snake_case, at most 63 characters",
        )
        return None
    keys = keyed(entry.keys, TABLE_KEYS, f"table {name}", diagnostics)
    truth_text = value_text(keys.get("truth_type"))
    truth = TruthType(truth_text) if truth_text in set(TruthType) else None
    if truth is None:
        diagnostics.report(
            Code.BAD_TABLE,
            entry.name.span,
            f"table {name}: truth_type {truth_text or '(missing)'!r} is not one of "
            f"{', '.join(TruthType)}",
        )
    columns_bullet = keys.get("columns")
    members = (
        resolver.members(columns_bullet.value) if columns_bullet and columns_bullet.value else None
    )
    if members is None:
        if columns_bullet is None:
            diagnostics.report(Code.BAD_TABLE, entry.name.span, f"table {name} has no 'columns'")
        return None
    columns: list[Column] = []
    for member in members:
        typed = member.type
        if not isinstance(typed, ScalarRef):
            if not isinstance(typed, ErrorRef):
                diagnostics.report(
                    Code.BAD_TABLE, member.span, f"column {member.name!r} must be a plain field"
                )
            continue
        columns.append(
            Column(member.name, typed.scalar, member.optional, typed.typed_by, member.span)
        )
    column_names = {c.name for c in columns}

    def checked(names: list[Text], what: str) -> tuple[str, ...]:
        for col in names:
            if col.text not in column_names:
                diagnostics.report(
                    Code.UNKNOWN_COLUMN,
                    col.span,
                    f"table {name}: {what} names unknown column {col.text!r}",
                )
        return tuple(col.text for col in names)

    primary_key = checked(bullet_names(keys.get("primary_key"), diagnostics), "primary_key")
    if not primary_key:
        diagnostics.report(Code.BAD_TABLE, entry.name.span, f"table {name} has no 'primary_key'")
    identity = None
    identity_names = checked(bullet_names(keys.get("identity"), diagnostics), "identity")
    if identity_names:
        identity = identity_names[0]
        column = next((c for c in columns if c.name == identity), None)
        if column is not None and (column.type.base != "int" or identity not in primary_key):
            diagnostics.report(
                Code.BAD_TABLE,
                keys["identity"].span,
                f"table {name}: identity column {identity!r} must be an int primary key",
            )

    def named_keys(key: str) -> tuple[Key, ...]:
        bullet = keys.get(key)
        if bullet is None:
            return ()
        found = []
        for child in bullet.children:
            if child.key is None or child.value is None:
                diagnostics.report(
                    Code.UNREADABLE_LINE,
                    child.span,
                    f"table {name}: expected '`name`: `(columns)`'",
                )
                continue
            if not SQL_NAME.fullmatch(child.key.text):
                diagnostics.report(
                    Code.BAD_TABLE,
                    child.key.span,
                    f"table {name}: key name {child.key.text!r} must be snake_case, "
                    "at most 63 characters",
                )
                continue
            cols = checked(name_list(child.value, diagnostics), key)
            found.append(Key(child.key.text, cols, child.span))
        return tuple(found)

    foreign_keys = []
    fk_bullet = keys.get("foreign_keys")
    for child in fk_bullet.children if fk_bullet else ():
        target = value_text(child)
        table_name, dot, target_column = target.partition(".")
        if child.key is None or not dot:
            diagnostics.report(
                Code.UNREADABLE_LINE,
                child.span,
                f"table {name}: expected '`column`: `table.column`'",
            )
            continue
        checked([child.key], "foreign_keys")
        foreign_keys.append(ForeignKey(child.key.text, table_name, target_column, child.span))

    ttl = checked(bullet_names(keys.get("ttl_column"), diagnostics), "ttl_column")
    tenant = checked(bullet_names(keys.get("tenant_column"), diagnostics), "tenant_column")
    projection = value_text(keys.get("projection_of")) or None
    if truth is not TruthType.CURRENT and projection is not None:
        diagnostics.report(
            Code.BAD_TABLE,
            keys["projection_of"].span,
            f"table {name}: only a CURRENT table is a projection of a ledger",
        )
    scope = _scope(keys.get("scope"), bool(tenant), name, diagnostics)
    if truth is TruthType.LEDGER and identity is None:
        diagnostics.report(
            Code.BAD_TABLE,
            entry.name.span,
            f"LEDGER table {name} needs an 'identity' column: its event sequence",
        )
    if truth is TruthType.CACHE and not ttl:
        diagnostics.report(
            Code.BAD_TABLE, entry.name.span, f"CACHE table {name} needs a 'ttl_column'"
        )
    return Table(
        name=name,
        engine_id=engine_id,
        truth_type=truth,
        columns=tuple(columns),
        primary_key=primary_key,
        identity=identity,
        unique_keys=named_keys("unique_keys"),
        idempotency_keys=named_keys("idempotency_keys"),
        indexes=named_keys("indexes"),
        foreign_keys=tuple(foreign_keys),
        projection_of=projection,
        ttl_column=ttl[0] if ttl else None,
        tenant_column=tenant[0] if tenant else None,
        scope=scope,
        project=_projection(keys.get("project"), name, column_names, diagnostics),
        description=value_text(keys.get("description")),
        span=entry.name.span,
    )


def _scope(
    bullet: Bullet | None, has_tenant: bool, table: str, diagnostics: Diagnostics
) -> Scope | None:
    """TENANT when the table names its tenant column, GLOBAL when it says so, else None."""
    implied = Scope.TENANT if has_tenant else None
    text = value_text(bullet)
    if bullet is None:
        return implied
    if text not in set(Scope):
        diagnostics.report(
            Code.BAD_TABLE,
            bullet.value.span if bullet.value else bullet.span,
            f"table {table}: scope {text!r} is not one of {', '.join(Scope)}",
        )
        return implied
    declared = Scope(text)
    if (declared is Scope.TENANT) != has_tenant:
        diagnostics.report(
            Code.BAD_TABLE,
            bullet.span,
            f"table {table}: scope {declared} "
            + (
                "needs a 'tenant_column'"
                if declared is Scope.TENANT
                else "contradicts its 'tenant_column'"
            ),
        )
    return declared


def _projection(
    bullet: Bullet | None, table: str, columns: set[str], diagnostics: Diagnostics
) -> tuple[tuple[str, str], ...]:
    """`(current_column=ledger_column, ...)`: how a ledger row lands in a CURRENT table."""
    pairs = []
    for column, source, span in pin_list(bullet, diagnostics, "current_column=ledger_column"):
        if column not in columns:
            diagnostics.report(
                Code.UNKNOWN_COLUMN, span, f"table {table}: project names unknown column {column!r}"
            )
        else:
            pairs.append((column, source))
    return tuple(pairs)


def _check_table_links(table: Table, tables: Mapping[str, Table], diagnostics: Diagnostics) -> None:
    for fk in table.foreign_keys:
        target = tables.get(fk.table)
        if target is None or fk.target_column not in {c.name for c in target.columns}:
            diagnostics.report(
                Code.UNKNOWN_COLUMN,
                fk.span,
                f"table {table.name}: foreign key target {fk.table}.{fk.target_column} "
                "does not exist",
            )
    if table.projection_of is not None:
        ledger = tables.get(table.projection_of)
        ledger_columns = {c.name for c in ledger.columns} if ledger else set()
        for _, source in table.project:
            if ledger is not None and source not in ledger_columns:
                diagnostics.report(
                    Code.UNKNOWN_COLUMN,
                    table.span,
                    f"table {table.name}: project takes {source!r}, which {ledger.name} lacks",
                )
        if ledger is None or ledger.truth_type is not TruthType.LEDGER:
            diagnostics.report(
                Code.BAD_TABLE,
                table.span,
                f"table {table.name}: projection_of {table.projection_of!r} is not a LEDGER table",
            )
