"""Imported SQL tables in, drafted companion-spec Markdown out: wiring `## Tables` entries and
field-dictionary entries, each guess marked with the rule and the SQL line it came from, so a
reviewer sees every inference (and `ecmc lint` can list the entries still unconfirmed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ecm_contract import AUDIT_REQUIRED, CLOCK_FIELD, AuditColumn, TruthType

from ecmc.adopt.key_drafts import (
    TENANT_COLUMNS,
    default_lines,
    foreign_key_lines,
    key_lines,
    serial_key,
    tenants_own,
)
from ecmc.adopt.projections import is_write_time, projection
from ecmc.adopt.sql import SqlColumn, SqlTable
from ecmc.adopt.wiring_docs import TableEvidence
from ecmc.resolve.dictionary import INFERRED

_INT_RANGES = {
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INT": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
    "SERIAL": (1, 2**31 - 1),
    "BIGSERIAL": (1, 2**63 - 1),
}
_NUMERIC = re.compile(r"DECIMAL\((\d+),\s*0\)")
_FLOATS = frozenset({"DOUBLE PRECISION", "DOUBLE", "REAL", "FLOAT", "DECIMAL"})
_FRACTION = re.compile(r"DECIMAL\(\d+,\s*[1-9]\d*\)")
"""Numbers with a fraction (ecmc has no decimal type: NUMERIC(p, s) is read as a float)."""
_RUNTIME_WRITTEN = frozenset({str(AuditColumn.PAYLOAD_DIGEST)})
"""Audit envelope columns no caller hands over: the runtime computes them."""
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""Labels an enum field type can name; a CHECK's other labels leave the field a string."""


@dataclass(frozen=True, slots=True)
class TruthGuess:
    truth_type: TruthType
    why: str


def truth_type(
    table: SqlTable, ecm_text: str = "", evidence: TableEvidence | None = None
) -> TruthGuess:
    """A table's truth type: what its DB wiring document says, else a guess from its name,
    the ECM text, and what the runtime needs of each type (a ledger's rows are numbered by a
    serial key)."""
    guess = _guessed_truth_type(table, ecm_text)
    if evidence is None:
        return guess
    stated = _stated_truth_type(evidence, guess)
    if stated.truth_type is TruthType.LEDGER and serial_key(table) is None:
        return TruthGuess(
            TruthType.CURRENT,
            f"{stated.why}, but its key is no int: the runtime numbers a ledger's events by an "
            "int identity, so it is drafted CURRENT and UPDATE and DELETE are NOT refused on it "
            "(review: give it an identity column to make it a LEDGER)",
        )
    return stated


def _stated_truth_type(evidence: TableEvidence, guess: TruthGuess) -> TruthGuess:
    named = evidence.truth_types
    if len(named) == 1:
        return TruthGuess(named[0], f"{evidence.at}, which calls it {named[0]}")
    if named:
        chosen = guess.truth_type if guess.truth_type in named else named[0]
        return TruthGuess(
            chosen,
            f"{evidence.at}, which calls it {' + '.join(named)} (read as {chosen}: {guess.why})",
        )
    if evidence.append_only is not None:
        return TruthGuess(TruthType.LEDGER, f"{evidence.append_only}, which calls it append-only")
    return guess


def _guessed_truth_type(table: SqlTable, ecm_text: str) -> TruthGuess:
    name = table.name
    serial = serial_key(table)
    if name.endswith(("_ledger", "_events", "_log")) and serial is not None:
        return TruthGuess(TruthType.LEDGER, f"the name {name} and its serial key {serial}")
    if serial is not None and _said_append_only(name, ecm_text):
        return TruthGuess(
            TruthType.LEDGER, f"the ECM text calling it append-only and its serial key {serial}"
        )
    if name.endswith("_cache") and "expires_at" in table.columns:
        return TruthGuess(TruthType.CACHE, f"the name {name} and its expires_at column")
    return TruthGuess(TruthType.CURRENT, "neither a ledger nor a cache by its name")


def _envelope_gaps(table: SqlTable) -> list[str]:
    """The audit envelope's columns a ledger lacks that only the runtime writes, when it
    holds all the others: an audit log the runtime can write once they are added."""
    missing = [str(c) for c in AUDIT_REQUIRED if c not in table.columns]
    return missing if missing and set(missing) <= _RUNTIME_WRITTEN else []


def row_input(table: SqlTable) -> str:
    """The fields a writer hands over for one row, as a field tuple: every column but a
    serial key, with the call's clock (`now`) for the time columns the write sets."""
    serial = serial_key(table)
    fields: list[str] = []
    for column in table.columns.values():
        if column.name == serial:
            continue
        if is_write_time(column.name) and not column.nullable:
            name = CLOCK_FIELD
        else:
            name = column.name + ("?" if column.nullable else "")
        if name not in fields:
            fields.append(name)
    return f"({', '.join(fields)})"


def table_entry(
    table: SqlTable,
    ecm_text: str = "",
    tables: Mapping[str, SqlTable] | None = None,
    evidence: Mapping[str, TableEvidence] | None = None,
    named: Mapping[str, str] | None = None,
) -> str:
    """The `### table` entry of a wiring spec's `## Tables`, every guess marked. `tables`, the
    schema the table is part of, tells which foreign keys still name a key once every key of
    a tenant's rows holds its tenant; `evidence`, what DB wiring documents say of tables;
    `named`, the type the dictionary gives each column name a table may type its own."""
    evidence = evidence or {}
    guess = truth_type(table, ecm_text, evidence.get(table.name))
    serial = serial_key(table)
    tenant = next((c for c in TENANT_COLUMNS if c in table.columns), None)
    scoped: list[str] = []
    notes = [f"truth_type {guess.truth_type} from {guess.why}"]
    notes += [] if tenant else ["scope GLOBAL (no tenant_id column)"]
    primary_key = table.primary_key
    if tenant and serial is None:
        primary_key = tenants_own(primary_key, tenant, "primary key", scoped)
    added = _envelope_gaps(table) if guess.truth_type is TruthType.LEDGER else []
    columns = _column_list(table, primary_key, added, notes)
    lines = [
        f"### `{table.name}`",
        f"- `truth_type`: `{guess.truth_type}`",
        f"- `columns`: `({', '.join(columns)})`",
        f"- `primary_key`: `({', '.join(primary_key)})`",
    ]
    lines += _column_types(table, named or {}, notes) + default_lines(table)
    if serial is not None:
        lines.append(f"- `identity`: `{serial}`")
    lines.append(f"- `tenant_column`: `{tenant}`" if tenant else "- `scope`: `GLOBAL`")
    if guess.truth_type is TruthType.CACHE:
        lines.append("- `ttl_column`: `expires_at`")
    lines += key_lines(table, tenant, scoped, notes)
    if scoped:
        notes.append(
            f"{tenant} added to {', '.join(scoped)} (every key of a tenant's rows holds the "
            "tenant: ECM074), where the database's key spans tenants"
        )
    lines += foreign_key_lines(table, tenant, tables or {}, notes)
    if guess.truth_type is TruthType.CURRENT:
        lines += _projection(table, tables or {}, evidence, ecm_text, notes)
    if added:
        notes.append(
            f"{', '.join(added)} added: it is the audit log, and the runtime writes them on "
            "every audit row (the database needs a migration that adds them)"
        )
    lines.append(f"- `description`: {INFERRED} from {table.at}: {'; '.join(notes)}.")
    return "\n".join(lines) + "\n"


def _column_list(
    table: SqlTable, primary_key: tuple[str, ...], added: list[str], notes: list[str]
) -> list[str]:
    """The `columns` of the entry (`?`: nullable), the audit envelope's `added` at the end;
    a nullable column of the primary key is made NOT NULL, and said so."""
    keyed = [c.name for c in table.columns.values() if c.nullable and c.name in primary_key]
    if keyed:
        notes.append(f"{', '.join(keyed)} made NOT NULL: a primary key column holds a value")
    shown = [
        c.name + ("?" if c.nullable and c.name not in keyed else "") for c in table.columns.values()
    ]
    return [*shown, *added]


def _column_types(table: SqlTable, named: Mapping[str, str], notes: list[str]) -> list[str]:
    """A column's type is its table's: a CHECK's labels are this table's own, and a column
    the dictionary's type for its name would store otherwise (BIGINT where another table's
    is TEXT, INTEGER where it is BIGINT) is typed here, not by the name everywhere."""
    own = [
        (c.name, field_type(c))
        for c in table.columns.values()
        if c.name in named
        and (field_type(c).startswith("enum(") or storage(field_type(c)) != storage(named[c.name]))
    ]
    notes += [
        f"the CHECK on {c.name} allows {', '.join(c.labels)}: labels an enum cannot name, so "
        f"{c.name} is a string and only the database keeps the CHECK"
        for c in table.columns.values()
        if c.labels and not field_type(c).startswith("enum(")
    ]
    if not own:
        return []
    return ["- `column_types`:", *(f"  - `{name}`: `{typed}`" for name, typed in own)]


def _projection(
    table: SqlTable,
    tables: Mapping[str, SqlTable],
    evidence: Mapping[str, TableEvidence],
    ecm_text: str,
    notes: list[str],
) -> list[str]:
    """`projection_of` and `project`, where the evidence makes the table a ledger's
    projection."""

    def is_ledger(other: SqlTable) -> bool:
        found = truth_type(other, ecm_text, evidence.get(other.name))
        return found.truth_type is TruthType.LEDGER

    stated = evidence.get(table.name)
    projected = projection(
        table, tables, is_ledger, stated.projection_of if stated else None, ecm_text
    )
    if projected is None:
        if stated is not None and stated.projection_of is not None:
            notes.append(
                f"its DB wiring document calls it rebuildable from {stated.projection_of}, "
                "but no reading fills each of its columns from it: state `projection_of` and "
                "`project` to bind its rebuild"
            )
        return []
    notes.append(f"a projection of {projected.ledger} from {projected.why}")
    lines = [f"- `projection_of`: `{projected.ledger}`"]
    if projected.project:
        pairs = ", ".join(f"{c}={s}" for c, s in projected.project)
        lines.append(f"- `project`: `({pairs})`")
    return lines


def storage(field_type: str) -> tuple[object, ...]:
    """What a field type makes the database store: the kind, and for an int the width its
    range needs (a string's bound, checked by the model, stores as text either way)."""
    if field_type.endswith("[]"):
        return ("list",)
    ranged = _RANGE.fullmatch(field_type)
    if ranged is None:
        base = field_type.split("[", 1)[0].split("(", 1)[0]
        return ("int", "BIGINT") if base == "int" else (base,)
    low, high = int(ranged.group(1)), int(ranged.group(2))
    for width in ("INT", "BIGINT"):  # the widths the emitter stores ints in
        if _INT_RANGES[width][0] <= low and high <= _INT_RANGES[width][1]:
            return ("int", width)
    return ("int", len(str(max(abs(low), abs(high)))))


_RANGE = re.compile(r"int\[(-?\d+)\.\.(-?\d+)\]")


def field_type(column: SqlColumn) -> str:
    """The field-dictionary type of a column, from its SQL type and its CHECKs."""
    if column.labels and all(_LABEL.fullmatch(label) for label in column.labels):
        return f"enum({'|'.join(column.labels)})"
    sql = column.sql_type.upper()
    if sql in ("BOOLEAN", "BOOL"):
        return "bool"
    if sql in ("JSON", "JSONB"):
        return "json"
    if sql in _FLOATS or _FRACTION.fullmatch(sql):
        return "float"
    low_high = _INT_RANGES.get(sql)
    numeric = _NUMERIC.fullmatch(sql)
    if numeric:
        top = 10 ** int(numeric.group(1)) - 1
        low_high = (-top, top)
    if low_high is not None:
        low = column.minimum if column.minimum is not None else low_high[0]
        high = column.maximum if column.maximum is not None else low_high[1]
        return f"int[{low}..{high}]"
    return "string"


def field_entry(column: SqlColumn, table: str) -> str:
    """A drafted dictionary entry for a column, saying which rule produced it."""
    return (
        f"- `{column.name}`: `{field_type(column)}` — {INFERRED} from {column.at} "
        f"{table}.{column.name} {column.sql_type}"
    )


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A table the ECM names and no migration creates: a minimal shape of its truth type."""

    entry: str
    fields: dict[str, str]
    """Column -> its dictionary entry, for the columns no convention types."""


_ROW_SEQ = "row_seq"
_PAYLOAD = "payload_json"


def placeholder_entry(name: str, ecm_text: str) -> Placeholder:
    """The wiring entry of a table nothing but its name is known of, every guess marked."""
    truth, why = _named_truth(name, ecm_text)
    lines = [f"### `{name}`", f"- `truth_type`: `{truth}`"]
    if truth is TruthType.LEDGER:
        lines += [
            f"- `columns`: `({_ROW_SEQ}, tenant_id, {_PAYLOAD}, created_at)`",
            f"- `primary_key`: `({_ROW_SEQ})`",
            f"- `identity`: `{_ROW_SEQ}`",
            "- `tenant_column`: `tenant_id`",
        ]
    elif truth is TruthType.CACHE:
        lines += [
            f"- `columns`: `(cache_key, {_PAYLOAD}, expires_at)`",
            "- `primary_key`: `(cache_key)`",
            "- `scope`: `GLOBAL`",
            "- `ttl_column`: `expires_at`",
        ]
    else:
        lines += [
            f"- `columns`: `(tenant_id, record_id, {_PAYLOAD}, updated_at)`",
            "- `primary_key`: `(tenant_id, record_id)`",
            "- `tenant_column`: `tenant_id`",
        ]
    lines.append(
        f"- `description`: {INFERRED} from nothing but its name: no migration creates it; "
        f"truth_type {truth} from {why}; the columns are a placeholder, say what it holds."
    )
    fields = {
        _ROW_SEQ: f"- `{_ROW_SEQ}`: `int[1..{2**63 - 1}]` — {INFERRED} from the placeholder "
        "ledgers: their serial key",
        _PAYLOAD: f"- `{_PAYLOAD}`: `json` — {INFERRED} from the placeholder tables: "
        "the row's content",
        "cache_key": f"- `cache_key`: `string[1..512]` — {INFERRED} from the placeholder "
        "caches: their key",
    }
    return Placeholder("\n".join(lines) + "\n", fields)


def _named_truth(name: str, ecm_text: str) -> tuple[TruthType, str]:
    if name.endswith(("_ledger", "_events", "_log")):
        return TruthType.LEDGER, f"the name {name}"
    if name.endswith("_cache"):
        return TruthType.CACHE, f"the name {name}"
    if _said_append_only(name, ecm_text):
        return TruthType.LEDGER, "the ECM text calling it append-only"
    return TruthType.CURRENT, "neither a ledger nor a cache by its name"


def _said_append_only(name: str, ecm_text: str) -> bool:
    """A line of the ECM text names the table and calls something append-only."""
    return any(name in line and "append-only" in line.lower() for line in ecm_text.splitlines())
