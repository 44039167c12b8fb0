"""A table's named keys, foreign keys and column defaults, as its wiring entry writes them:

    - `unique_keys`:
      - `ux_active_binding`: `(tenant_id, user_id)` where `(active=true)`
    - `indexes`:
      - `ix_recent`: `(tenant_id, state, updated_at)` descending `(updated_at)`
    - `foreign_keys`:
      - `device_id`: `devices.device_id`
      - `(tenant_id, draft_id)`: `drafts(tenant_id, draft_id)`
    - `defaults`: `(active=true, attempts=0, created_at=now)`

A value a key's condition or a default names is checked against the column's type here, so
the database is never asked for a row no column could hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import name_list, pin_list, pins
from ecmc.frontend.syntax import Bullet, Text
from ecmc.ir import Column, ForeignKey, Key
from ecmc.span import Span

KEY_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_CLAUSE = re.compile(r"([a-z]+)\s*`")
_CLAUSE_TEXT = re.compile(r"[a-z]+\s*`[^`]*`")
_TARGET = re.compile(r"([a-z][a-z0-9_]*)(?:\.([a-z][a-z0-9_]*)|\(([^()]*)\))")
_INT = re.compile(r"-?[0-9]+")
NOW = "now"
"""The default that is the database's clock at insert."""


def checked(
    table: str,
    names: list[Text],
    what: str,
    columns: Mapping[str, Column],
    diagnostics: Diagnostics,
) -> tuple[str, ...]:
    """The names, each reported where it is not a column of the table."""
    for col in names:
        if col.text not in columns:
            diagnostics.report(
                Code.UNKNOWN_COLUMN,
                col.span,
                f"table {table}: {what} names unknown column {col.text!r}",
            )
    return tuple(col.text for col in names)


def named_keys(
    table: str,
    bullet: Bullet | None,
    what: str,
    columns: Mapping[str, Column],
    diagnostics: Diagnostics,
) -> tuple[Key, ...]:
    """`- `name`: `(columns)``, each with its `where` condition or `descending` columns."""
    found = []
    for child in bullet.children if bullet else ():
        if child.key is None or child.value is None:
            diagnostics.report(
                Code.BAD_TABLE, child.span, f"table {table}: expected '`name`: `(columns)`'"
            )
        elif not KEY_NAME.fullmatch(child.key.text):
            diagnostics.report(
                Code.BAD_TABLE,
                child.key.span,
                f"table {table}: key name {child.key.text!r} must be snake_case, at most 63 "
                "characters",
            )
        else:
            names = checked(table, name_list(child.value, diagnostics), what, columns, diagnostics)
            key = Key(child.key.text, names, child.span)
            found.append(_clauses(table, key, child, what, columns, diagnostics))
    return tuple(found)


def _clauses(
    table: str,
    key: Key,
    child: Bullet,
    what: str,
    columns: Mapping[str, Column],
    diagnostics: Diagnostics,
) -> Key:
    """The key with the clauses written after its columns (`where`, `descending`)."""
    where: list[tuple[str, str]] = []
    descending: list[str] = []
    words = _CLAUSE.findall(child.trailing)
    if _CLAUSE_TEXT.sub("", child.trailing).strip():
        diagnostics.report(
            Code.BAD_TABLE,
            child.span,
            f"table {table}: {what} {key.name}: text after the columns is not a clause "
            "(write: where `(column=VALUE)`, or descending `(column)`)",
        )
    for word, code in zip(words, child.codes[1:], strict=False):
        if word == "where" and what == "unique_keys":
            for column, value, span in pins(code, diagnostics, "column=VALUE"):
                if _value_fits(table, column, value, span, columns, diagnostics, "where"):
                    where.append((column, value))
        elif word == "descending" and what == "indexes":
            named = checked(table, name_list(code, diagnostics), what, columns, diagnostics)
            descending += [c for c in named if c in key.columns]
            if set(named) - set(key.columns):
                diagnostics.report(
                    Code.BAD_TABLE, code.span, f"table {table}: {key.name} orders columns it lacks"
                )
        else:
            allowed = {"unique_keys": "where", "indexes": "descending"}.get(what, "nothing")
            diagnostics.report(
                Code.BAD_TABLE,
                code.span,
                f"table {table}: {what} {key.name}: {word!r} is not a clause here (allowed: "
                f"{allowed})",
            )
    return Key(key.name, key.columns, key.span, tuple(where), tuple(descending))


def _value_fits(
    table: str,
    column: str,
    value: str,
    span: Span,
    columns: Mapping[str, Column],
    diagnostics: Diagnostics,
    what: str,
) -> bool:
    """Whether `value` is one the column's type holds (reported where not)."""
    typed = columns.get(column)
    if typed is None:
        diagnostics.report(
            Code.UNKNOWN_COLUMN, span, f"table {table}: {what} names unknown column {column!r}"
        )
        return False
    scalar = typed.type
    if scalar.is_list or scalar.base in ("json", "object"):
        fits = False
    elif scalar.base == "bool":
        fits = value in ("true", "false")
    elif scalar.base == "enum":
        fits = value in scalar.labels
    elif scalar.base in ("int", "float"):
        number = int(value) if _INT.fullmatch(value) else None
        low, high = scalar.minimum, scalar.maximum
        fits = number is not None and (low is None or number >= low)
        fits = fits and (high is None or number is None or number <= high)
    else:
        fits = value == NOW or scalar.maximum is None or len(value) <= scalar.maximum
    if not fits:
        diagnostics.report(
            Code.BAD_TABLE,
            span,
            f"table {table}: {what} {column}={value}: column {column} ({_kind(typed)}) cannot "
            f"hold {value!r}",
        )
    return fits


def _kind(column: Column) -> str:
    scalar = column.type
    if scalar.base == "enum":
        return f"one of {', '.join(scalar.labels)}"
    if scalar.minimum is not None or scalar.maximum is not None:
        return f"{scalar.base} in {scalar.minimum}..{scalar.maximum}"
    return scalar.base


def with_defaults(
    table: str, bullet: Bullet | None, columns: list[Column], diagnostics: Diagnostics
) -> list[Column]:
    """The columns, each `defaults` pair setting its column's database DEFAULT."""
    by_name = {c.name: c for c in columns}
    defaults: dict[str, str] = {}
    for column, value, span in pin_list(bullet, diagnostics, "column=VALUE"):
        typed = by_name.get(column)
        if value == NOW and typed is not None and typed.type.base != "string":
            diagnostics.report(
                Code.BAD_TABLE,
                span,
                f"table {table}: default {column}=now: the database's clock is text only a "
                "string column holds",
            )
        elif _value_fits(table, column, value, span, by_name, diagnostics, "default"):
            defaults[column] = value
    return [
        Column(c.name, c.type, c.nullable, c.typed_by, c.span, defaults[c.name])
        if c.name in defaults
        else c
        for c in columns
    ]


def foreign_keys(
    table: str, bullet: Bullet | None, columns: Mapping[str, Column], diagnostics: Diagnostics
) -> tuple[ForeignKey, ...]:
    """`- `column`: `table.column`` or, composite, `- `(a, b)`: `table(x, y)``."""
    found = []
    for child in bullet.children if bullet else ():
        target = _TARGET.fullmatch(child.value.text.strip()) if child.value else None
        if child.key is None or target is None or child.value is None:
            diagnostics.report(  # an error: a reference left out is a guarantee lost
                Code.BAD_TABLE,
                child.span,
                f"table {table}: expected '`column`: `table.column`' or '`(a, b)`: `table(x, y)`'",
            )
            continue
        names = checked(
            table, name_list(child.key, diagnostics), "foreign_keys", columns, diagnostics
        )
        inner = target.group(3)
        targets = (target.group(2),) if inner is None else _plain_names(inner)
        if len(targets) != len(names) or not names:
            diagnostics.report(
                Code.BAD_TABLE,
                child.span,
                f"table {table}: foreign key names {len(names)} column(s) and "
                f"{len(targets)} target column(s)",
            )
            continue
        found.append(ForeignKey(names, target.group(1), targets, child.span))
    return tuple(found)


def _plain_names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())
