"""Imported SQL tables in, drafted companion-spec Markdown out: wiring `## Tables` entries and
field-dictionary entries, each guess marked with the rule and the SQL line it came from, so a
reviewer sees every inference (and `ecmc lint` can list the entries still unconfirmed).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ecm_contract import AUDIT_REQUIRED, CLOCK_FIELD, AuditColumn, TruthType

from ecmc.adopt.projections import is_write_time, projection
from ecmc.adopt.sql import SqlColumn, SqlKey, SqlTable
from ecmc.adopt.wiring_docs import TableEvidence
from ecmc.resolve.dictionary import INFERRED

_TENANT_COLUMNS = ("tenant_id",)
_NOT_NULL = re.compile(r"(\w+) IS NOT NULL")
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
    if stated.truth_type is TruthType.LEDGER and _serial_key(table) is None:
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
    serial = _serial_key(table)
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
    serial = _serial_key(table)
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


def _serial_key(table: SqlTable) -> str | None:
    if len(table.primary_key) != 1:
        return None
    column = table.columns.get(table.primary_key[0])
    return column.name if column is not None and column.serial else None


def table_entry(
    table: SqlTable,
    ecm_text: str = "",
    tables: Mapping[str, SqlTable] | None = None,
    evidence: Mapping[str, TableEvidence] | None = None,
) -> str:
    """The `### table` entry of a wiring spec's `## Tables`, every guess marked. `tables`, the
    schema the table is part of, tells which foreign keys still name a key once every key of
    a tenant's rows holds its tenant; `evidence`, what DB wiring documents say of tables."""
    evidence = evidence or {}
    guess = truth_type(table, ecm_text, evidence.get(table.name))
    serial = _serial_key(table)
    tenant = next((c for c in _TENANT_COLUMNS if c in table.columns), None)
    scoped: list[str] = []
    notes = [f"truth_type {guess.truth_type} from {guess.why}"]
    notes += [] if tenant else ["scope GLOBAL (no tenant_id column)"]
    primary_key = table.primary_key
    if tenant and serial is None:
        primary_key = _tenants_own(primary_key, tenant, "primary key", scoped)
    added = _envelope_gaps(table) if guess.truth_type is TruthType.LEDGER else []
    columns = _column_list(table, primary_key, added, notes)
    lines = [
        f"### `{table.name}`",
        f"- `truth_type`: `{guess.truth_type}`",
        f"- `columns`: `({', '.join(columns)})`",
        f"- `primary_key`: `({', '.join(primary_key)})`",
    ]
    lines += _column_types(table)
    if serial is not None:
        lines.append(f"- `identity`: `{serial}`")
    lines.append(f"- `tenant_column`: `{tenant}`" if tenant else "- `scope`: `GLOBAL`")
    if guess.truth_type is TruthType.CACHE:
        lines.append("- `ttl_column`: `expires_at`")
    full = [k for k in table.unique_keys if k.where is None]
    partial = [k for k in table.unique_keys if _idempotency(table, k)]
    if tenant:
        full = [_scoped_key(k, tenant, scoped) for k in full]
        partial = [_scoped_key(k, tenant, scoped) for k in partial]
    lines += _keys("unique_keys", full) + _keys("idempotency_keys", partial)
    lines += _keys("indexes", table.indexes)
    if scoped:
        notes.append(
            f"{tenant} added to {', '.join(scoped)} (every key of a tenant's rows holds the "
            "tenant: ECM074), where the database's key spans tenants"
        )
    lines += _foreign_keys(table, tenant, tables or {}, notes)
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


def _column_types(table: SqlTable) -> list[str]:
    """A CHECK's labels are this table's: another table's column of the same name may hold
    other values, so they type the column here, not the name everywhere."""
    own = [(c.name, field_type(c)) for c in table.columns.values() if c.labels]
    own = [(name, typed) for name, typed in own if typed.startswith("enum(")]
    if not own:
        return []
    return ["- `column_types`:", *(f"  - `{name}`: `{typed}`" for name, typed in own)]


def _foreign_keys(
    table: SqlTable, tenant: str | None, tables: Mapping[str, SqlTable], notes: list[str]
) -> list[str]:
    kept, dropped = _references(table, tenant, tables)
    notes += [
        f"foreign key {c} -> {t}.{tc} left out: {t} is keyed by its tenant, and this table "
        "holds no tenant to refer with"
        for c, t, tc in dropped
    ]
    if not kept:
        return []
    return ["- `foreign_keys`:", *(f"  - `{c}`: `{t}.{tc}`" for c, t, tc in kept)]


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
        return []
    notes.append(f"a projection of {projected.ledger} from {projected.why}")
    lines = [f"- `projection_of`: `{projected.ledger}`"]
    if projected.project:
        pairs = ", ".join(f"{c}={s}" for c, s in projected.project)
        lines.append(f"- `project`: `({pairs})`")
    return lines


def _references(
    table: SqlTable, tenant: str | None, tables: Mapping[str, SqlTable]
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """The foreign keys to draft, and those left out: a reference into a tenant's rows by a
    table with no tenant column can no longer name a key (the target's keys hold the tenant)."""
    kept, dropped = [], []
    for column, target, target_column in table.foreign_keys:
        referred = tables.get(target)
        target_tenant = next(
            (c for c in _TENANT_COLUMNS if referred and c in referred.columns), None
        )
        serial = _serial_key(referred) if referred is not None else None
        if target_tenant and not tenant and target_column != serial:
            dropped.append((column, target, target_column))
        else:
            kept.append((column, target, target_column))
    return kept, dropped


def _tenants_own(
    columns: tuple[str, ...], tenant: str, what: str, scoped: list[str]
) -> tuple[str, ...]:
    """A key as the tenant's own: with the tenant column first when the SQL left it out
    (noted in `scoped`, for the entry's description)."""
    if tenant in columns:
        return columns
    scoped.append(what)
    return (tenant, *columns)


def _scoped_key(key: SqlKey, tenant: str, scoped: list[str]) -> SqlKey:
    columns = _tenants_own(key.columns, tenant, key.name, scoped)
    return key if columns == key.columns else dataclasses.replace(key, columns=columns)


def _idempotency(table: SqlTable, key: SqlKey) -> bool:
    """A partial unique index whose condition is exactly 'every nullable column of the key is
    set': the compiler's idempotency key."""
    if key.where is None:
        return False
    required = {_NOT_NULL.fullmatch(part.strip()) for part in key.where.split(" AND ")}
    named = {m.group(1) for m in required if m is not None}
    nullable = {c for c in key.columns if table.columns[c].nullable}
    return None not in required and named == nullable


def _keys(kind: str, keys: Iterable[SqlKey]) -> list[str]:
    found = [f"  - `{k.name}`: `({', '.join(k.columns)})`" for k in keys]
    return [f"- `{kind}`:", *found] if found else []


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
