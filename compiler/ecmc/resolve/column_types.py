"""`column_types`: a table's own type for a column, where the dictionary's global one for the
name does not hold for it (two tables' `status` columns with different CHECK labels)."""

from __future__ import annotations

import dataclasses

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Bullet
from ecmc.ir import Column
from ecmc.resolve.dictionary import FieldDictionary, scalar_type

TYPED_BY = "table"
"""How a column typed by its table's `column_types` says where its type came from."""


def retype_columns(
    table: str,
    columns: list[Column],
    bullet: Bullet | None,
    dictionary: FieldDictionary,
    diagnostics: Diagnostics,
) -> list[Column]:
    """The columns, each `- `column`: `type`` under `column_types` typing its own."""
    typed = {c.name: c for c in columns}
    for child in bullet.children if bullet is not None else ():
        if child.key is None or child.value is None:
            diagnostics.report(
                Code.UNREADABLE_LINE, child.span, f"table {table}: expected '`column`: `type`'"
            )
            continue
        column = typed.get(child.key.text)
        if column is None:
            diagnostics.report(
                Code.UNKNOWN_COLUMN,
                child.key.span,
                f"table {table}: column_types names unknown column {child.key.text!r}",
            )
            continue
        scalar = scalar_type(child.value, dictionary, diagnostics)
        if scalar is not None:
            typed[column.name] = dataclasses.replace(column, type=scalar, typed_by=TYPED_BY)
    return [typed[c.name] for c in columns]
