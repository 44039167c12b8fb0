"""Table changes, each saying whether a migration can make it safely (adding a nullable
column or a table) or not (removing, narrowing, a NOT NULL column without a default)."""

from __future__ import annotations

from collections.abc import Iterator

from ecm_contract import TruthType

from ecmc.diff.change import Change, new_change
from ecmc.diff.types import scalar_shown, widening
from ecmc.ir import Program, Table


def table_changes(old: Program, new: Program) -> Iterator[Change]:
    after = {t.name: t for t in new.tables}
    for table in old.tables:
        now = after.get(table.name)
        if now is None:
            yield new_change(
                "ECMD012",
                table.name,
                f"table {table.name} was removed (not migration-safe: its rows go)",
                table.span,
                table.span,
                old_side=True,
            )
            continue
        yield from _table(table, now)
    before = {t.name for t in old.tables}
    for table in new.tables:
        if table.name not in before:
            yield new_change(
                "ECMD204", table.name, f"table {table.name} was added (migration-safe)", table.span
            )


def _table(was: Table, now: Table) -> Iterator[Change]:
    yield from _columns(was, now)
    yield from _keys(was, now)
    yield from _kind(was, now)


def _columns(was: Table, now: Table) -> Iterator[Change]:
    before = {c.name: c for c in was.columns}
    after = {c.name: c for c in now.columns}
    for name, column in before.items():
        subject = f"{now.name}.{name}"
        if name not in after:
            yield new_change(
                "ECMD008",
                subject,
                f"column {subject} was removed (not migration-safe)",
                column.span,
                column.span,
                old_side=True,
            )
            continue
        current = after[name]
        if column.nullable and not current.nullable:
            yield new_change(
                "ECMD008",
                subject,
                f"column {subject} is no longer nullable (not migration-safe)",
                current.span,
                column.span,
            )
        if widening(column.type, current.type) is False:
            yield new_change(
                "ECMD008",
                subject,
                f"column {subject} narrowed from {scalar_shown(column.type)} to "
                f"{scalar_shown(current.type)} (not migration-safe)",
                current.span,
                column.span,
            )
    for name, column in after.items():
        if name not in before:
            safe = column.nullable
            code = "ECMD204" if safe else "ECMD008"
            how = "migration-safe: nullable" if safe else "not migration-safe: NOT NULL, no default"
            yield new_change(
                code,
                f"{now.name}.{name}",
                f"column {now.name}.{name} was added ({how})",
                column.span,
            )


def _keys(was: Table, now: Table) -> Iterator[Change]:
    if was.primary_key != now.primary_key:
        yield new_change(
            "ECMD009",
            f"{now.name}.primary_key",
            f"table {now.name}: primary key {was.primary_key} -> {now.primary_key}",
            now.span,
            was.span,
        )
    old_keys = {k.name: k.columns for k in (*was.unique_keys, *was.idempotency_keys)}
    new_keys = {k.name: k.columns for k in (*now.unique_keys, *now.idempotency_keys)}
    for key in sorted(old_keys.keys() | new_keys.keys()):
        if old_keys.get(key) != new_keys.get(key):
            yield new_change(
                "ECMD009",
                f"{now.name}.{key}",
                f"table {now.name}: unique key {key} {old_keys.get(key)} -> {new_keys.get(key)}",
                now.span,
                was.span,
            )


def _kind(was: Table, now: Table) -> Iterator[Change]:
    ledger = TruthType.LEDGER
    if (was.truth_type is ledger) != (now.truth_type is ledger):
        yield new_change(
            "ECMD010",
            now.name,
            f"table {now.name}: truth type {was.truth_type} -> {now.truth_type}",
            now.span,
            was.span,
        )
    if was.tenant_column and not now.tenant_column:
        yield new_change(
            "ECMD103",
            now.name,
            f"table {now.name} no longer scopes rows by {was.tenant_column}",
            now.span,
            was.span,
        )
