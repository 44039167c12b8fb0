"""PostgreSQL migrations in, the tables they build out: columns, types, nullability, keys,
partial unique indexes, indexes and foreign keys, each with the file and line that made it.

Statements are cut at the tokenizer's semicolons (so a `$$` body stays whole) and each is
parsed by sqlglot. What it cannot import (DO blocks, functions, triggers, views, anything it
does not model) is listed with its location, never dropped in silence.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.errors import SqlglotError

_DIALECT = "postgres"
_SERIALS = frozenset({exp.DataType.Type.BIGSERIAL, exp.DataType.Type.SERIAL})


@dataclass(frozen=True, slots=True)
class Where:
    """A file and line."""

    path: str
    line: int

    def __str__(self) -> str:
        # Drafted Markdown quotes this: a file name is text there, never markup (no code
        # span, no line of its own).
        shown = " ".join("".join(c if c.isprintable() else " " for c in self.path).split())
        return f"{shown.replace('`', chr(39))}:{self.line}"


@dataclass(frozen=True, slots=True)
class SqlColumn:
    name: str
    sql_type: str
    """The type as PostgreSQL spells it, e.g. `TEXT`, `NUMERIC(39, 0)`, `BIGSERIAL`."""
    nullable: bool
    serial: bool
    labels: tuple[str, ...]
    """The values a `CHECK (column IN (...))` allows; empty: no such check."""
    at: Where
    minimum: int | None = None
    maximum: int | None = None
    """Bounds a `CHECK (column BETWEEN a AND b)`, `>=`, `>`, `<=` or `<` states."""
    default: str | None = None
    """The column's DEFAULT as a spec writes it: `true`, `false`, a number, a word, or
    `now` for the database's clock; None when it has none or one a spec cannot state."""


@dataclass(frozen=True, slots=True)
class SqlKey:
    name: str
    columns: tuple[str, ...]
    where: str | None
    """The partial index's condition, as SQL; None for a full key."""
    at: Where
    descending: tuple[str, ...] = ()
    """The columns the index orders high to low (`DESC`)."""


@dataclass(frozen=True, slots=True)
class SqlForeignKey:
    """A reference, composite or not: `columns` of this table name `target_columns` of
    `table`, in order."""

    columns: tuple[str, ...]
    table: str
    target_columns: tuple[str, ...]


@dataclass
class SqlTable:
    name: str
    at: Where
    columns: dict[str, SqlColumn] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    unique_keys: list[SqlKey] = field(default_factory=list)
    indexes: list[SqlKey] = field(default_factory=list)
    foreign_keys: list[SqlForeignKey] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Skipped:
    at: Where
    statement: str
    why: str


@dataclass
class SqlSchema:
    tables: dict[str, SqlTable] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)


def read_migrations(paths: Iterable[Path], display: Path | None = None) -> SqlSchema:
    """Every migration file in order (directories: their `*.sql` files by name)."""
    schema = SqlSchema()
    for path in _sql_files(paths):
        shown = str(path.relative_to(display)) if display is not None else path.name
        text = path.read_text(encoding="utf-8", errors="replace")
        for line, statement in _statements(text, shown, schema):
            _apply(statement, Where(shown, line), schema)
    return schema


def _sql_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        yield from sorted(path.glob("*.sql")) if path.is_dir() else [path]


def _statements(text: str, path: str, schema: SqlSchema) -> Iterator[tuple[int, str]]:
    """(line, text) of each statement, cut where the tokenizer sees a semicolon."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(_DIALECT).tokenize(text)
    except SqlglotError as error:
        schema.skipped.append(Skipped(Where(path, 1), "", f"the file cannot be tokenized: {error}"))
        return
    current: list[Token] = []
    for token in [*tokens, None]:
        if token is None or token.token_type == TokenType.SEMICOLON:
            if current:
                yield current[0].line, text[current[0].start : current[-1].end + 1]
            current = []
        else:
            current.append(token)


PLAIN_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
"""The table and column names ecmc drafts: specs name tables and fields in snake_case."""
_NOT_PLAIN = "{name!r} is not a plain snake_case name a spec can use"


_DO_BODY = re.compile(r"\ADO\s+\$(\w*)\$(.*)\$\1\$", re.DOTALL | re.IGNORECASE)
_INNER_DDL = re.compile(r"\b(?:ALTER\s+TABLE|CREATE\s+(?:UNIQUE\s+)?INDEX)\b[^;]*;", re.IGNORECASE)


def _apply(statement: str, at: Where, schema: SqlSchema) -> None:
    body = _DO_BODY.match(statement.strip())
    if body is not None and _INNER_DDL.search(body.group(2)):
        # The idempotent-migration idiom: `DO $$ BEGIN IF NOT EXISTS (...) THEN ALTER TABLE
        # ... ; END IF; END $$`. The DDL inside is what the block does once; the guard only
        # makes a rerun harmless.
        for inner in _INNER_DDL.finditer(body.group(2)):
            line = at.line + statement.strip()[: body.start(2) + inner.start()].count("\n")
            _apply(inner.group(0).rstrip(";"), Where(at.path, line), schema)
        return
    sqlglot_logger = logging.getLogger("sqlglot")
    level = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.ERROR)  # unsupported syntax is reported below instead
    try:
        parsed = sqlglot.parse_one(statement, read=_DIALECT)
    except SqlglotError as error:
        schema.skipped.append(Skipped(at, _head(statement), f"not parsed: {error}"))
        return
    finally:
        sqlglot_logger.setLevel(level)
    if isinstance(parsed, exp.Create) and parsed.kind == "TABLE":
        _create_table(parsed, at, schema)
    elif isinstance(parsed, exp.Create) and parsed.kind == "INDEX":
        _create_index(parsed, at, schema)
    elif isinstance(parsed, exp.Alter) and parsed.kind == "TABLE":
        _alter_table(parsed, at, schema)
    else:
        schema.skipped.append(Skipped(at, _head(statement), "not a table, index or column"))


def _head(statement: str) -> str:
    """The statement on one line, long enough to show a table CHECK whole."""
    return " ".join(statement.split())[:400]


def _create_table(create: exp.Create, at: Where, schema: SqlSchema) -> None:
    definition = create.this
    if not isinstance(definition, exp.Schema):
        schema.skipped.append(Skipped(at, _head(create.sql()), "CREATE TABLE without columns"))
        return
    name = definition.this.name
    if not PLAIN_NAME.fullmatch(name):
        schema.skipped.append(Skipped(at, _head(create.sql()), _NOT_PLAIN.format(name=name)))
        return
    table = schema.tables.setdefault(name, SqlTable(name, at))
    for item in definition.expressions:
        _table_item(table, item, at, schema)


def _table_item(table: SqlTable, item: exp.Expression, at: Where, schema: SqlSchema) -> None:
    if isinstance(item, exp.ColumnDef):
        _column(table, item, at, schema)
    elif isinstance(item, exp.PrimaryKey):
        table.primary_key = tuple(e.name for e in item.expressions)
    elif isinstance(item, exp.UniqueColumnConstraint):
        columns = _names(item.this)
        table.unique_keys.append(SqlKey(constraint_name(table.name, columns), columns, None, at))
    elif isinstance(item, exp.ForeignKey):
        _foreign_key(table, item)
    elif isinstance(item, exp.Constraint):
        for inner in item.expressions:
            _table_item(table, inner, at, schema)
    elif isinstance(item, exp.CheckColumnConstraint) and _check(table, item.this):
        pass
    elif isinstance(item, exp.CheckColumnConstraint):
        schema.skipped.append(Skipped(at, _head(item.sql()), f"a check of {table.name}"))
    else:
        what = type(item).__name__
        schema.skipped.append(Skipped(at, _head(item.sql()), f"{what} of table {table.name}"))


def _column(table: SqlTable, column: exp.ColumnDef, at: Where, schema: SqlSchema) -> None:
    if not PLAIN_NAME.fullmatch(column.name):
        schema.skipped.append(Skipped(at, _head(column.sql()), _NOT_PLAIN.format(name=column.name)))
        return
    kind = column.args.get("kind")
    sql_type = kind.sql(dialect=_DIALECT) if isinstance(kind, exp.DataType) else "TEXT"
    serial = isinstance(kind, exp.DataType) and kind.this in _SERIALS
    nullable, checks = not serial, []
    default: str | None = None
    for constraint in column.args.get("constraints") or ():
        rule = constraint.args.get("kind")
        if isinstance(rule, exp.NotNullColumnConstraint) and not rule.args.get("allow_null"):
            nullable = False
        elif isinstance(rule, exp.PrimaryKeyColumnConstraint):
            nullable, table.primary_key = False, (column.name,)
        elif isinstance(rule, exp.UniqueColumnConstraint):
            key = SqlKey(constraint_name(table.name, (column.name,)), (column.name,), None, at)
            table.unique_keys.append(key)
        elif isinstance(rule, exp.Reference):
            target = rule.this
            if isinstance(target, exp.Schema):
                columns = _names(target)[:1] or (column.name,)
                table.foreign_keys.append(SqlForeignKey((column.name,), target.this.name, columns))
        elif isinstance(rule, exp.CheckColumnConstraint):
            checks.append(rule)
        elif isinstance(rule, exp.DefaultColumnConstraint):
            default = _default(rule.this)
            if default is None:
                schema.skipped.append(Skipped(at, _head(column.sql()), "a DEFAULT no spec states"))
    table.columns[column.name] = SqlColumn(
        column.name, sql_type, nullable, serial, (), at, default=default
    )
    for check in checks:
        if not _check(table, check.this):
            schema.skipped.append(Skipped(at, _head(check.sql()), f"a check of {table.name}"))


def _check(table: SqlTable, check: exp.Expression) -> bool:
    """A table CHECK on one column's labels or bounds, folded into the column; False when it
    says something else (it is then reported). `x IS NULL OR <rule on x>` is the rule."""
    if isinstance(check, exp.Paren):
        return _check(table, check.this)
    nullable_or = isinstance(check, exp.Or) and isinstance(check.this, exp.Is)
    if nullable_or and check.this.this == check.expression.this:
        return _check(table, check.expression)
    column = table.columns.get(check.this.name) if isinstance(check.this, exp.Column) else None
    if column is None:
        return False
    labels = _allowed(check, column.name)
    if labels:
        table.columns[column.name] = dataclasses.replace(column, labels=labels)
        return True
    low, high = _bounds(check)
    if low is None and high is None:
        return False
    low = low if low is not None else column.minimum
    high = high if high is not None else column.maximum
    table.columns[column.name] = dataclasses.replace(column, minimum=low, maximum=high)
    return True


def _bounds(check: exp.Expression) -> tuple[int | None, int | None]:
    def number(node: exp.Expression | None) -> int | None:
        if isinstance(node, exp.Literal) and not node.is_string and node.this.lstrip("-").isdigit():
            return int(node.this)
        return None

    if isinstance(check, exp.Between):
        return number(check.args.get("low")), number(check.args.get("high"))
    value = number(check.expression) if isinstance(check, exp.Binary) else None
    if value is None:
        return None, None
    bounds: dict[type[exp.Expression], tuple[int | None, int | None]] = {
        exp.GTE: (value, None),
        exp.GT: (value + 1, None),
        exp.LTE: (None, value),
        exp.LT: (None, value - 1),
    }
    return bounds.get(type(check), (None, None))


def _allowed(check: exp.Expression, column: str) -> tuple[str, ...]:
    """The labels of `CHECK (column IN ('A', 'B'))`."""
    if isinstance(check, exp.In) and check.this.name == column:
        values = [e for e in check.expressions if isinstance(e, exp.Literal) and e.is_string]
        if len(values) == len(check.expressions):
            return tuple(v.this for v in values)
    return ()


def _foreign_key(table: SqlTable, key: exp.ForeignKey) -> None:
    reference = key.args.get("reference")
    target = reference.this if isinstance(reference, exp.Reference) else None
    if not isinstance(target, exp.Schema):
        return
    columns = tuple(e.name for e in key.expressions)
    table.foreign_keys.append(SqlForeignKey(columns, target.this.name, _names(target) or columns))


def _default(value: exp.Expression) -> str | None:
    """A DEFAULT as a spec writes it (see `SqlColumn.default`)."""
    if isinstance(value, exp.Boolean):
        return "true" if value.this else "false"
    if isinstance(value, exp.Literal) and PLAIN_DEFAULT.fullmatch(value.name):
        return value.name
    if isinstance(value, exp.CurrentTimestamp):
        return "now"
    return None


PLAIN_DEFAULT = re.compile(r"-?[0-9]+|[A-Za-z][A-Za-z0-9_]*")


def _create_index(create: exp.Create, at: Where, schema: SqlSchema) -> None:
    index = create.this
    table_name = index.args.get("table")
    params = index.args.get("params")
    if not isinstance(table_name, exp.Table) or params is None:
        schema.skipped.append(Skipped(at, _head(create.sql()), "an index on no table"))
        return
    table = schema.tables.get(table_name.name)
    ordered = params.args.get("columns") or ()
    columns = tuple(o.this.name for o in ordered if isinstance(o.this, exp.Column))
    descending = tuple(
        o.this.name for o in ordered if isinstance(o.this, exp.Column) and o.args.get("desc")
    )
    if table is None or len(columns) != len(params.args.get("columns") or ()):
        why = "an index on an unknown table" if table is None else "an index on expressions"
        schema.skipped.append(Skipped(at, _head(create.sql()), why))
        return
    where = params.args.get("where")
    condition = where.this.sql(dialect=_DIALECT) if isinstance(where, exp.Where) else None
    key = SqlKey(index.name, columns, condition, at, descending)
    (table.unique_keys if create.args.get("unique") else table.indexes).append(key)


def _alter_table(alter: exp.Alter, at: Where, schema: SqlSchema) -> None:
    table = schema.tables.get(alter.this.name)
    if table is None:
        schema.skipped.append(Skipped(at, _head(alter.sql()), "ALTER of an unknown table"))
        return
    for action in alter.args.get("actions") or ():
        if isinstance(action, exp.ColumnDef):
            _column(table, action, at, schema)
        elif isinstance(action, exp.AddConstraint):
            for constraint in action.expressions:
                _named_constraint(table, constraint, at, schema)
        else:
            schema.skipped.append(Skipped(at, _head(action.sql()), f"ALTER TABLE {table.name}"))


def _named_constraint(
    table: SqlTable, constraint: exp.Expression, at: Where, schema: SqlSchema
) -> None:
    name = constraint.name if isinstance(constraint, exp.Constraint) else ""
    inner = constraint.expressions if isinstance(constraint, exp.Constraint) else [constraint]
    for item in inner:
        if isinstance(item, exp.UniqueColumnConstraint):
            columns = _names(item.this)
            key_name = name or constraint_name(table.name, columns)
            table.unique_keys.append(SqlKey(key_name, columns, None, at))
        else:
            _table_item(table, item, at, schema)


def _names(node: exp.Expression | None) -> tuple[str, ...]:
    return tuple(e.name for e in node.expressions) if isinstance(node, exp.Schema) else ()


def constraint_name(table: str, columns: tuple[str, ...], label: str = "key") -> str:
    """The name PostgreSQL gives a constraint the SQL leaves unnamed (`<table>_<columns>_key`),
    the longer of the two parts shortened first until it fits in 63 characters."""
    name1, name2 = table, "_".join(columns)
    available = 63 - len(label) - 2
    while len(name1) + len(name2) > available:
        if len(name1) > len(name2):
            name1 = name1[:-1]
        else:
            name2 = name2[:-1]
    return f"{name1}_{name2}_{label}"
