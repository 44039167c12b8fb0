"""CHECK constraints, live against declared: what Alembic's autogenerate does not compare.

The databases spell a check back in their own words (PostgreSQL: `((status)::text = ANY
(ARRAY['A'::text, ...]))`), so a check is compared by what it allows: the columns it names
and the string and number literals it holds. A declared check with no live one allowing the
same is missing; a live one that allows otherwise, or that nothing declares, is a difference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import ReflectedCheckConstraint

_LITERAL = re.compile(r"'((?:[^']|'')*)'|(?<![\w.])(-?\d+)(?![\w.])")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_problems(connection: Connection, metadata: Iterable[sa.MetaData]) -> list[str]:
    """One line per CHECK that differs between the live tables and the metadata's."""
    inspector = sa.inspect(connection)
    live_tables = set(inspector.get_table_names())
    problems: list[str] = []
    for meta in metadata:
        for table in meta.tables.values():
            if table.name in live_tables:
                live = inspector.get_check_constraints(table.name)
                problems += _table_problems(table, live, connection.dialect)
    return problems


def _table_problems(
    table: sa.Table, live: list[ReflectedCheckConstraint], dialect: sa.Dialect
) -> list[str]:
    columns = {c.name for c in table.columns}
    reflected = [(str(c.get("name") or ""), _allows(str(c.get("sqltext")), columns)) for c in live]
    problems = []
    for check in (c for c in table.constraints if isinstance(c, sa.CheckConstraint)):
        text = check.sqltext.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        declared = _allows(str(text), columns)
        same_name = next((r for r in reflected if r[0] == check.name), None) or next(
            (r for r in reflected if r[1][0] == declared[0]), None
        )
        match = next((r for r in reflected if r[1] == declared), None)
        if match is not None:
            reflected.remove(match)
        elif same_name is not None:
            reflected.remove(same_name)
            problems.append(
                f"modify_check: {table.name} {check.name} allows {_shown(same_name[1])} live, "
                f"{_shown(declared)} declared"
            )
        else:
            problems.append(f"add_check: {table.name} {check.name} {_shown(declared)}")
    problems += [
        f"remove_check: {table.name} {name} {_shown(allows)}" for name, allows in reflected
    ]
    return problems


def _allows(sqltext: str, columns: set[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The columns a check names and the literals it holds: what it allows, in any dialect."""
    literals = frozenset(
        m.group(1) if m.group(1) is not None else m.group(2) for m in _LITERAL.finditer(sqltext)
    )
    bare = _LITERAL.sub(" ", sqltext)
    named = frozenset(word for word in _WORD.findall(bare) if word in columns)
    return named, literals


def _shown(allows: tuple[frozenset[str], frozenset[str]]) -> str:
    named, literals = allows
    return f"({', '.join(sorted(named))}: {', '.join(sorted(literals)) or 'no literals'})"
