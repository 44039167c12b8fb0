"""A field dictionary drafted for ECM files that nothing types yet.

Every field gets a type from, in order: the field dictionary, an inline enum in the spec (both
done by the compiler), a naming convention (drafted here, each marked), the imported SQL
column of the same name, or a last-resort default; each drafted entry says which rule made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ecm_contract import CLOCK_FIELD, FIELD_FAMILY, REASON_FIELD, REPLAYED_FIELD, AuditColumn

from ecmc.adopt.documents import Document
from ecmc.adopt.drafts import field_entry, field_type
from ecmc.adopt.sql import SqlColumn, SqlSchema
from ecmc.ir import Program
from ecmc.resolve.audit_events import SEVERITIES
from ecmc.resolve.dictionary import FIELD_NAME, INFERRED, matches_convention
from ecmc.typeref import ErrorRef, ScalarRef, walk

DEFAULT_TYPE = "json"
"""The last resort: any JSON value, until a person says what the field holds."""


@dataclass(frozen=True, slots=True)
class ConventionDraft:
    pattern: str
    type: str
    meaning: str

    def entry(self) -> str:
        return f"- `{self.pattern}`: `{self.type}` — {INFERRED} naming convention: {self.meaning}"


CONVENTIONS = (
    ConventionDraft("*_id", "string[1..128]", "identifiers"),
    ConventionDraft("*_ids", "string[1..128][]", "lists of identifiers"),
    ConventionDraft("*_at", "int[0..9223372036854775807]", "points in time, unix ms"),
    ConventionDraft("*_ms", "int[0..9223372036854775807]", "durations in milliseconds"),
    ConventionDraft("*_count", "int[0..2147483647]", "counts"),
    ConventionDraft("*_bp", "int[0..10000]", "basis points"),
    ConventionDraft("*_hash", "string[1..128]", "content hashes"),
    ConventionDraft("*_ref", "string[1..512]", "references to stored content"),
    ConventionDraft("*_refs", "string[1..512][]", "lists of references"),
    ConventionDraft("*_code", "string[1..128]", "reason and failure codes"),
    ConventionDraft("*_version", "string[1..64]", "version labels"),
    ConventionDraft("*_only", "bool", "flags"),
    ConventionDraft("*_ok", "bool", "pass/fail flags"),
    ConventionDraft("no_*", "bool", "flags"),
    ConventionDraft("is_*", "bool", "flags"),
    ConventionDraft("has_*", "bool", "flags"),
    ConventionDraft("max_*", "int[0..9223372036854775807]", "upper limits"),
    ConventionDraft("min_*", "int[0..9223372036854775807]", "lower limits"),
)


_FAMILY_MEANING = "a family of fields the ECM text names; say what its fields hold"


def untyped_fields(program: Program, columns: Iterable[str] = ()) -> list[str]:
    """Field names nothing types, in order of appearance: in the capabilities' schemas, the
    records' fields, the audit rules' keys, and `columns` (of tables being drafted)."""
    typed = {f.name for f in program.fields}
    found: dict[str, None] = {}
    inline: set[str] = set()
    schemas = [
        s.type
        for e in program.engines
        for c in e.capabilities
        for s in (c.input, c.output)
        if s is not None
    ]
    schemas += [m.type for r in program.records for m in r.members]
    for schema in schemas:
        for ref in walk(schema):
            named = ref.name if isinstance(ref, ErrorRef) else None
            if named and (FIELD_NAME.fullmatch(named) or FIELD_FAMILY.fullmatch(named)):
                found.setdefault(named)
            elif isinstance(ref, ScalarRef):
                inline.add(ref.name)
    keys = [key for engine in program.engines for key in engine.audit_keys]
    # A column is typed by the dictionary, never by a schema that types a field of the same
    # name in place (an inline enum of one capability is not another table's column).
    for name, inline_types in [*((k, True) for k in keys), *((c, False) for c in columns)]:
        if name in typed or (inline_types and name in inline) or _conventional(program, name):
            continue
        found.setdefault(name)
    return list(found)


def _conventional(program: Program, name: str) -> bool:
    return any(matches_convention(c.pattern, name) for c in program.conventions)


@dataclass
class DictionaryDraft:
    conventions: list[ConventionDraft]
    fields: dict[str, str]
    """Field name -> its drafted entry."""
    by_rule: dict[str, int]
    """How many fields each rule typed: convention, sql, placeholder, default."""

    def add_to(self, document: Document) -> bool:
        """The drafted conventions and fields the document lacks; True when any was added."""
        added = False
        for convention in self.conventions:
            added |= document.add("Naming Conventions", convention.pattern, convention.entry())
        for name in sorted(self.fields):
            added |= document.add("Fields", name, self.fields[name])
        return added

    def markdown(self) -> str:
        document = Document("Drafted field dictionary", ["- `kind`: `FIELD_DICTIONARY`"])
        self.add_to(document)
        return document.markdown()


RUNTIME_FIELDS: Mapping[str, tuple[str, str]] = {
    CLOCK_FIELD: (f"int[0..{2**63 - 1}]", "the call's clock in unix ms, a write's time"),
    REPLAYED_FIELD: ("bool", "set on its answer to a retried lifecycle action"),
    REASON_FIELD: ("string[1..96]", "a reason code an ECM spec declares, stored as its text"),
    AuditColumn.SEVERITY: (f"enum({'|'.join(SEVERITIES)})", "an audit row's severity"),
    AuditColumn.PAYLOAD_DIGEST: ("string[1..128]", "the hex BLAKE3 digest of an audit payload"),
}
"""Input and answer fields the runtime reads or writes by name: their type is its contract's."""


def holds_reason_code(column: str) -> bool:
    """Whether a column holds a reason code, which the runtime writes as its text (a database
    that numbers its codes keeps them in integer columns ecmc does not follow)."""
    return column == REASON_FIELD or column.endswith("_" + REASON_FIELD)


def runtime_field(name: str) -> str:
    """The dictionary entry of a field the runtime reads or writes by name."""
    field_type, what = RUNTIME_FIELDS[name]
    return f"- `{name}`: `{field_type}` — {INFERRED} from the runtime: {what}"


def draft_dictionary(
    names: Iterable[str], schema: SqlSchema | None, given: Mapping[str, str] | None = None
) -> DictionaryDraft:
    """Types for `names`: a naming convention, else the SQL column of the same name, else the
    entry `given` for it (a placeholder table's column), else the last-resort default; the
    conventions drafted are those some name uses."""
    columns = first_columns(schema)
    labelled = _labelled(schema)
    used: dict[str, ConventionDraft] = {}
    fields: dict[str, str] = {}
    counts = {"convention": 0, "sql": 0, "placeholder": 0, "default": 0, "runtime": 0}
    for name in names:
        convention = longest_convention(name)
        if FIELD_FAMILY.fullmatch(name):
            # A family (`*_gate_ok`) is typed by a convention: the one that matches it, else
            # its own, of the last-resort type.
            family = convention or ConventionDraft(name, DEFAULT_TYPE, _FAMILY_MEANING)
            used.setdefault(family.pattern, family)
            counts["convention" if convention else "default"] += 1
        elif name in RUNTIME_FIELDS:
            fields[name] = runtime_field(name)
            counts["runtime"] += 1
        elif convention is not None:
            used.setdefault(convention.pattern, convention)
            counts["convention"] += 1
        elif len(labelled.get(name, ())) > 1:
            owners = ", ".join(sorted(labelled[name]))
            fields[name] = (
                f"- `{name}`: `string` — {INFERRED} from the tables {owners}, each of whose "
                f"CHECKs allows its own values of {name} (each table types its column)"
            )
            counts["sql"] += 1
        elif name in columns:
            column, owner = columns[name]
            fields[name] = field_entry(column, owner)
            counts["sql"] += 1
        elif given and name in given:
            fields[name] = given[name]
            counts["placeholder"] += 1
        else:
            fields[name] = (
                f"- `{name}`: `{DEFAULT_TYPE}` — {INFERRED} from nothing: the last-resort "
                "default; say what the field holds"
            )
            counts["default"] += 1
    ordered = [c for c in CONVENTIONS if c.pattern in used]
    ordered += [c for c in used.values() if c not in CONVENTIONS]
    return DictionaryDraft(ordered, fields, counts)


def first_columns(schema: SqlSchema | None) -> dict[str, tuple[SqlColumn, str]]:
    """The first column of each name, in the order the migrations create them, and its
    table: the column whose SQL type types the name in the dictionary."""
    columns: dict[str, tuple[SqlColumn, str]] = {}
    for table in schema.tables.values() if schema is not None else ():
        for column in table.columns.values():
            columns.setdefault(column.name, (column, table.name))
    return columns


def _labelled(schema: SqlSchema | None) -> dict[str, set[str]]:
    """The tables whose CHECK labels each column name."""
    labelled: dict[str, set[str]] = {}
    for table in schema.tables.values() if schema is not None else ():
        for column in table.columns.values():
            if field_type(column).startswith("enum("):
                labelled.setdefault(column.name, set()).add(table.name)
    return labelled


def dictionary_types(schema: SqlSchema) -> dict[str, str]:
    """The type the drafted dictionary gives each column name of the schema (the rules of
    `draft_dictionary`, with the database's type winning over a convention that disagrees
    with it in kind): a table whose column stores otherwise types its own. Names the
    runtime's contract types (its fields, reason codes) are left out: no table retypes them."""
    labelled = _labelled(schema)
    named: dict[str, str] = {}
    for name, (column, _) in first_columns(schema).items():
        convention = longest_convention(name)
        if name in RUNTIME_FIELDS or holds_reason_code(name):
            continue
        if convention is not None and not convention_disagrees(column):
            named[name] = convention.type
        elif len(labelled.get(name, ())) > 1:
            named[name] = "string"
        else:
            named[name] = field_type(column)
    return named


def convention_disagrees(column: SqlColumn) -> bool:
    """Whether the naming convention for the column's name types it as another kind than its
    SQL type does (an identity, or a foreign key to one, is an int whatever its name says)."""
    convention = longest_convention(column.name)
    if convention is None or holds_reason_code(column.name):
        return False
    return _kind(convention.type) != _kind(field_type(column))


def _kind(field_type: str) -> str:
    base = field_type.split("[", 1)[0].split("(", 1)[0]
    return "string" if base == "enum" else base


def longest_convention(name: str) -> ConventionDraft | None:
    """The convention that types `name`, as the compiler picks: the longest pattern."""
    matching = [c for c in CONVENTIONS if matches_convention(c.pattern, name)]
    return max(matching, key=lambda c: len(c.pattern), default=None)
