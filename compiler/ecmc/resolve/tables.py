"""Tables of the wiring specs: columns, keys, truth type, scope, projection."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ecm_contract import POSITION_COLUMN, Scope, TruthType

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import bullet_names, keyed, pin_list, value_text
from ecmc.frontend.syntax import Bullet, CompanionSection, Entry, Text
from ecmc.ir import Column, ForeignKey, Key, Table
from ecmc.resolve.column_types import retype_columns
from ecmc.resolve.companions import Companion
from ecmc.resolve.dictionary import report_unconfirmed
from ecmc.resolve.keys import is_key, report_unscoped_keys, tenant_part, tenant_scoped_reference
from ecmc.resolve.table_keys import checked, foreign_keys, named_keys, with_defaults
from ecmc.resolve.types import TypeResolver
from ecmc.span import Span
from ecmc.typeref import ErrorRef, ScalarRef

TABLE_KEYS = frozenset(
    {
        "truth_type",
        "columns",
        "column_types",
        "defaults",
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
RUNTIME_PREFIX = "ecm_"
"""Tables and columns the runtime keeps beside the specs' (ecm_write_outcomes, ecm_xact)."""
RESERVED_PREFIXES = ("sqlite_", "pg_", RUNTIME_PREFIX)


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
    if name.startswith(RESERVED_PREFIXES):
        diagnostics.report(
            Code.BAD_TABLE,
            entry.name.span,
            f"table name {name!r} is reserved: names beginning {', '.join(RESERVED_PREFIXES)} "
            "are the databases' own catalogs (SQLite, PostgreSQL) and the runtime's tables",
        )
        return None
    keys = keyed(entry.keys, TABLE_KEYS, f"table {name}", diagnostics)
    columns = _columns(name, keys.get("columns"), entry, resolver, diagnostics)
    if columns is None:
        return None
    columns = retype_columns(
        name, columns, keys.get("column_types"), resolver.dictionary, diagnostics
    )
    columns = with_defaults(name, keys.get("defaults"), columns, diagnostics)
    for column in columns:
        if column.name.startswith(RUNTIME_PREFIX):
            diagnostics.report(
                Code.BAD_TABLE,
                column.span,
                f"table {name}: column name {column.name!r} is reserved: names beginning "
                f"{RUNTIME_PREFIX} are the runtime's own columns (e.g. {POSITION_COLUMN})",
            )
            return None
    return _TableReader(name, keys, columns, entry, diagnostics).table(engine_id)


def _columns(
    name: str,
    bullet: Bullet | None,
    entry: Entry,
    resolver: TypeResolver,
    diagnostics: Diagnostics,
) -> list[Column] | None:
    """The table's columns: plain dictionary fields; None when there is no column list."""
    members = resolver.members(bullet.value) if bullet and bullet.value else None
    if members is None:
        if bullet is None:
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
    return columns


class _TableReader:
    """The keys of one table entry, each read and checked against its columns."""

    def __init__(
        self,
        name: str,
        keys: Mapping[str, Bullet],
        columns: list[Column],
        entry: Entry,
        diagnostics: Diagnostics,
    ) -> None:
        self.name, self.keys, self.columns, self.entry = name, keys, columns, entry
        self.diagnostics = diagnostics
        self.column_names = {c.name for c in columns}
        self.by_name = {c.name: c for c in columns}

    def report(self, code: Code, span: Span, message: str) -> None:
        self.diagnostics.report(code, span, message)

    def table(self, engine_id: str) -> Table:
        name, keys = self.name, self.keys
        truth = self.truth_type()
        primary_key = self.checked(
            bullet_names(keys.get("primary_key"), self.diagnostics), "primary_key"
        )
        if not primary_key:
            self.report(Code.BAD_TABLE, self.entry.name.span, f"table {name} has no 'primary_key'")
        identity = self.identity(primary_key)
        ttl, tenant = self.names("ttl_column"), self.names("tenant_column")
        projection = value_text(keys.get("projection_of")) or None
        self.check_truth_type(truth, identity, ttl, projection)
        unique_keys = self.named_keys("unique_keys")
        idempotency_keys = self.named_keys("idempotency_keys")
        if tenant:
            stated = unique_keys + idempotency_keys
            report_unscoped_keys(
                name, tenant[0], primary_key, identity, stated, keys, self.diagnostics
            )
        return Table(
            name=name,
            engine_id=engine_id,
            truth_type=truth,
            columns=tuple(self.columns),
            primary_key=primary_key,
            identity=identity,
            unique_keys=unique_keys,
            idempotency_keys=idempotency_keys,
            indexes=self.named_keys("indexes"),
            foreign_keys=self.foreign_keys(),
            projection_of=projection,
            ttl_column=ttl[0] if ttl else None,
            tenant_column=tenant[0] if tenant else None,
            scope=_scope(keys.get("scope"), bool(tenant), name, self.diagnostics),
            project=_projection(keys.get("project"), name, self.column_names, self.diagnostics),
            description=self.description(),
            span=self.entry.name.span,
        )

    def description(self) -> str:
        text = value_text(self.keys.get("description"))
        report_unconfirmed(text, self.entry.name.span, f"table {self.name}", self.diagnostics)
        return text

    def truth_type(self) -> TruthType | None:
        text = value_text(self.keys.get("truth_type"))
        if text in set(TruthType):
            return TruthType(text)
        self.report(
            Code.BAD_TABLE,
            self.entry.name.span,
            f"table {self.name}: truth_type {text or '(missing)'!r} is not one of "
            f"{', '.join(TruthType)}",
        )
        return None

    def check_truth_type(
        self,
        truth: TruthType | None,
        identity: str | None,
        ttl: tuple[str, ...],
        projection: str | None,
    ) -> None:
        """What each truth type needs: a ledger its sequence, a cache its TTL column; only a
        CURRENT table projects a ledger."""
        at, name = self.entry.name.span, self.name
        if truth is not TruthType.CURRENT and projection is not None:
            self.report(
                Code.BAD_TABLE,
                self.keys["projection_of"].span,
                f"table {name}: only a CURRENT table is a projection of a ledger",
            )
        if truth is TruthType.LEDGER and identity is None:
            self.report(
                Code.BAD_TABLE,
                at,
                f"LEDGER table {name} needs an 'identity' column: its event sequence",
            )
        if truth is TruthType.CACHE and not ttl:
            self.report(Code.BAD_TABLE, at, f"CACHE table {name} needs a 'ttl_column'")

    def names(self, key: str) -> tuple[str, ...]:
        """The columns a key names, each checked to be a column of the table."""
        return self.checked(bullet_names(self.keys.get(key), self.diagnostics), key)

    def checked(self, names: list[Text], what: str) -> tuple[str, ...]:
        return checked(self.name, names, what, self.by_name, self.diagnostics)

    def identity(self, primary_key: tuple[str, ...]) -> str | None:
        names = self.names("identity")
        if not names:
            return None
        identity = names[0]
        column = next((c for c in self.columns if c.name == identity), None)
        if column is not None and (column.type.base != "int" or identity not in primary_key):
            self.report(
                Code.BAD_TABLE,
                self.keys["identity"].span,
                f"table {self.name}: identity column {identity!r} must be an int primary key",
            )
        return identity

    def named_keys(self, key: str) -> tuple[Key, ...]:
        return named_keys(self.name, self.keys.get(key), key, self.by_name, self.diagnostics)

    def foreign_keys(self) -> tuple[ForeignKey, ...]:
        return foreign_keys(
            self.name, self.keys.get("foreign_keys"), self.by_name, self.diagnostics
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
        shown = f"{fk.table}({', '.join(fk.target_columns)})"
        if target is None or not set(fk.target_columns) <= {c.name for c in target.columns}:
            diagnostics.report(
                Code.UNKNOWN_COLUMN,
                fk.span,
                f"table {table.name}: foreign key target {shown} does not exist",
            )
        elif not (
            is_key(target, fk.target_columns)
            or tenant_scoped_reference(fk, table, tables)
            or tenant_part(fk, table, tables)
        ):
            diagnostics.report(
                Code.BAD_TABLE,
                fk.span,
                f"table {table.name}: foreign key target {shown} is not a key of {fk.table} "
                "(its primary key or a unique key, with its tenant column when both tables "
                "hold tenants' rows)",
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
