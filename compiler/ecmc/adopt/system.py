"""A whole system of ECM files in, the companion specs that make it compile out.

Drafting is a fixed point: compile what there is, draft what the compiler found missing
(caller policies, owned tables, named types, unreadable schemas, field types), compile again,
until a round finds nothing new to draft. Bindings are drafted last, over the resolved tables,
and a drafted binding the compiler refuses is dropped (its capability stays a handler).
Existing companion specs (`ecmc init --update`) take part unchanged; drafts only add entries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ecm_contract import TruthType

from ecmc.adopt.bindings import binding_proposals, rows_read
from ecmc.adopt.callers import add_policies, undeclared_policies
from ecmc.adopt.documents import Document, merge
from ecmc.adopt.drafts import (
    field_entry,
    field_type,
    placeholder_entry,
    row_input,
    table_entry,
)
from ecmc.adopt.fields import draft_dictionary, longest_convention, untyped_fields
from ecmc.adopt.operations import BindingDraft, Declaration
from ecmc.adopt.records import (
    OPAQUE_FIELD,
    OPAQUE_RECORD,
    draft_record,
    opaque_record,
    undefined_types,
)
from ecmc.adopt.roles import draft_roles
from ecmc.adopt.schemas import unreadable_schemas
from ecmc.adopt.sql import SqlColumn, SqlSchema
from ecmc.adopt.tools import draft_tool_path
from ecmc.adopt.wiring_docs import WiringDocument, table_evidence
from ecmc.ir import Program
from ecmc.pipeline import FrontendResult, compile_texts
from ecmc.resolve.dictionary import INFERRED

FIELDS_PATH = "specs/common/fields.md"
CALLERS_PATH = "specs/common/callers.md"
_MAX_ROUNDS = 8
_BIND_ROUNDS = 4
_OPAQUE_ENTRY = (
    f"- `{OPAQUE_FIELD}`: `object` — {INFERRED} from the opaque records: any JSON object"
)


@dataclass
class Adoption:
    """The drafts of one run, what each rule produced, and the compiled result."""

    ecm: dict[str, str]
    existing: dict[str, str]
    evidence: dict[str, WiringDocument] = field(default_factory=dict)
    """Engine id -> what its DB wiring document says."""
    documents: dict[str, Document] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    """`fields:<rule>`, `records:<rule>`, `tables:sql|placeholder`, `schemas`, `bindings:<op>`,
    `policies`."""
    result: FrontendResult | None = None
    declared: list[tuple[str, str, str]] = field(default_factory=list)
    """(path, section, name) of what the placed bindings declared (event types, codes),
    taken back when the proposals change."""

    def texts(self) -> dict[str, str]:
        """Every spec as it would be written: ECM files, existing specs with drafts merged in,
        and the new drafts."""
        out = {**self.ecm, **self.existing}
        for path, document in self.documents.items():
            out[path] = merge(out[path], document)[0] if path in out else document.markdown()
        return out

    def compile(self) -> Program:
        self.result = compile_texts(dict(self.texts()))
        return self.result.program

    def document(self, path: str, title: str, header: list[str]) -> Document:
        return self.documents.setdefault(path, Document(title, header))

    def wiring(self, program: Program, engine_id: str) -> Document:
        path = _wiring_path(program, engine_id)
        header = ["- `kind`: `ENGINE_WIRING`", f"- `engine_id`: `{engine_id}`"]
        return self.document(path, f"{engine_id} Wiring (drafted by ecmc init)", header)

    def fields(self) -> Document:
        return self.document(
            FIELDS_PATH, "Field dictionary (drafted by ecmc init)", ["- `kind`: `FIELD_DICTIONARY`"]
        )


def adopt(
    ecm: Mapping[str, str],
    schema: SqlSchema | None,
    existing: Mapping[str, str] = {},
    evidence: Mapping[str, WiringDocument] = {},
) -> Adoption:
    """Draft companion specs for the ECM files (display path -> text) until they compile,
    from them, the schema, and the DB wiring documents (engine id -> what each says)."""
    adoption = Adoption(dict(ecm), dict(existing), dict(evidence))
    sql = schema or SqlSchema()
    for _ in range(_MAX_ROUNDS):
        program = adoption.compile()
        drafted = _draft_round(adoption, program, sql)
        if not drafted:
            break
    _bind(adoption, adoption.compile())
    if _tool_paths(adoption, adoption.compile()):
        _bind(adoption, adoption.compile())
    _roles(adoption, adoption.compile())
    return adoption


def _tool_paths(adoption: Adoption, program: Program) -> bool:
    """Draft the tool path of each engine that evidences one; all taken back if refused."""
    drafted = []
    for engine in program.engines:
        declarations = draft_tool_path(program, engine)
        wiring = adoption.wiring(program, engine.engine_id) if declarations else None
        for declared in declarations:
            if wiring is not None and wiring.add(declared.section, declared.name, declared.entry):
                drafted.append((wiring, declared))
    if not drafted:
        return False
    adoption.compile()
    assert adoption.result is not None
    if any(d.severity == "error" for d in adoption.result.diagnostics):
        for wiring, declared in drafted:
            wiring.sections[declared.section].pop(declared.name)
        adoption.compile()
        return False
    adoption.counts["tool paths"] += len({id(w) for w, _ in drafted})
    return True


def _roles(adoption: Adoption, program: Program) -> None:
    """Draft each engine's reason-code roles from the words of its codes (and those of the
    engine it audits to); a role the compiler refuses is taken back."""
    drafted: list[tuple[str, Declaration]] = []
    for engine in program.engines:
        declarations = draft_roles(program, engine, adoption.ecm.get(engine.source, ""))
        wiring = adoption.wiring(program, engine.engine_id) if declarations else None
        for declared in declarations:
            if wiring is not None and wiring.add(declared.section, declared.name, declared.entry):
                drafted.append((_wiring_path(program, engine.engine_id), declared))
    if not drafted:
        return
    adoption.compile()
    assert adoption.result is not None
    texts = {path: adoption.texts()[path].splitlines() for path, _ in drafted}
    errors = {
        (d.span.path, d.span.line) for d in adoption.result.diagnostics if d.severity == "error"
    }
    for path, declared in drafted:
        line = texts[path].index(declared.entry) + 1
        if (path, line) in errors:
            adoption.documents[path].sections[declared.section].pop(declared.name)
        elif declared.section == "Reason Code Roles":
            adoption.counts["roles"] += 1
    adoption.compile()


def _draft_round(adoption: Adoption, program: Program, sql: SqlSchema) -> bool:
    """One round of drafts for what the compiled program lacks; True when anything was added."""
    columns: list[str] = []
    given: dict[str, str] = {}
    added = _callers(adoption, program)
    defined = {t.name for t in program.tables}
    tables_added = False
    for engine in program.engines:
        text = adoption.ecm.get(engine.source, "")
        for owned in engine.data_owned:
            if owned.table not in defined:
                tables_added |= _table(
                    adoption, program, engine.engine_id, owned.table, text, sql, given, defined
                )
    # Records wait for the owned tables to compile: a read by key may say whose row a type is.
    if not tables_added:
        added |= _records(adoption, program, sql, given, columns, defined)
    added |= tables_added
    added |= _schemas(adoption, program, given, columns)
    for document in adoption.documents.values():
        if "Tables" in document.sections:
            columns += _drafted_columns(document)
    names = untyped_fields(program, columns)
    dictionary = draft_dictionary(names, sql, given)
    added |= dictionary.add_to(adoption.fields())
    adoption.counts.update({f"fields:{k}": v for k, v in dictionary.by_rule.items()})
    return added


def _records(
    adoption: Adoption,
    program: Program,
    sql: SqlSchema,
    given: dict[str, str],
    columns: list[str],
    defined: set[str],
) -> bool:
    added = False
    reads = rows_read(program)
    inputs = {name: row_input(table) for name, table in sql.tables.items()}
    ledgers = {t.name for t in program.tables if t.truth_type is TruthType.LEDGER}
    for name, use in undefined_types(program).items():
        engine_id = use.engine_id
        text = adoption.ecm.get(_source(program, engine_id), "")
        engine = next(e for e in program.engines if e.engine_id == engine_id)
        owned = [d.table for d in engine.data_owned if d.table in ledgers]
        ledger = owned[0] if len(owned) == 1 else None
        record = draft_record(name, text, sql.tables, use.variants, reads.get(name), inputs, ledger)
        if record.table is not None and record.table not in defined:
            _table(adoption, program, engine_id, record.table, text, sql, given, defined)
        if adoption.wiring(program, engine_id).add("Records", name, record.entry):
            adoption.counts[f"records:{record.rule}"] += 1
            added = True
        if record.rule == "opaque":
            given[OPAQUE_FIELD] = _OPAQUE_ENTRY
            columns.append(OPAQUE_FIELD)
    return added


def _source(program: Program, engine_id: str) -> str:
    return next(e.source for e in program.engines if e.engine_id == engine_id)


def _wiring_path(program: Program, engine_id: str) -> str:
    """Where an engine's drafted wiring goes: the wiring directory, under its ECM file's name."""
    return f"specs/wiring/{PurePosixPath(_source(program, engine_id)).name}"


def _callers(adoption: Adoption, program: Program) -> bool:
    policies = undeclared_policies(program)
    if not policies:
        return False
    document = adoption.document(
        CALLERS_PATH,
        "Caller classes and policies (drafted by ecmc init)",
        ["- `kind`: `CALLER_POLICIES`"],
    )
    add_policies(document, policies)
    adoption.counts["policies"] += len(policies)
    return True


def _table(
    adoption: Adoption,
    program: Program,
    engine_id: str,
    name: str,
    text: str,
    sql: SqlSchema,
    given: dict[str, str],
    defined: set[str],
) -> bool:
    """Draft a table into the engine's wiring: imported, with the tables its foreign keys
    reference, or a placeholder."""
    defined.add(name)
    imported = sql.tables.get(name)
    if imported is None:
        placeholder = placeholder_entry(name, text)
        given.update(placeholder.fields)
        return _add_table(adoption, program, engine_id, name, placeholder.entry, "placeholder")
    for column in imported.columns.values():
        if _convention_disagrees(column):
            # The database's type wins over a naming convention's guess (an identity, or a
            # foreign key to one, is an int whatever its name says).
            adoption.fields().add("Fields", column.name, field_entry(column, name))
    for _, target, _ in imported.foreign_keys:
        if target not in defined and target in sql.tables:
            _table(adoption, program, engine_id, target, text, sql, given, defined)
    entry = table_entry(imported, text, sql.tables, table_evidence(adoption.evidence))
    return _add_table(adoption, program, engine_id, name, entry, "sql")


def _convention_disagrees(column: SqlColumn) -> bool:
    convention = longest_convention(column.name)
    if convention is None:
        return False
    return _kind(convention.type) != _kind(field_type(column))


def _kind(field_type: str) -> str:
    base = field_type.split("[", 1)[0].split("(", 1)[0]
    return "string" if base == "enum" else base


def _add_table(
    adoption: Adoption, program: Program, engine_id: str, name: str, entry: str, rule: str
) -> bool:
    if adoption.wiring(program, engine_id).add("Tables", name, entry):
        adoption.counts[f"tables:{rule}"] += 1
        return True
    return False


def _drafted_columns(document: Document) -> list[str]:
    """The column names of a wiring draft's tables, as its `columns` lines list them."""
    found = []
    for entry in document.sections["Tables"].values():
        for line in entry.splitlines():
            if line.startswith("- `columns`: `("):
                found += [c.strip().rstrip("?") for c in line[15:].rstrip(")`").split(",")]
    return found


def _schemas(
    adoption: Adoption, program: Program, given: dict[str, str], columns: list[str]
) -> bool:
    added = False
    records = {r.name for r in program.records}
    for restatement in unreadable_schemas(program):
        wiring = adoption.wiring(program, restatement.engine_id)
        if not wiring.add("Schemas", restatement.capability_id, restatement.entry()):
            continue
        adoption.counts["schemas"] += 1
        added = True
        if restatement.opaque and OPAQUE_RECORD not in records:
            records.add(OPAQUE_RECORD)
            opaque = opaque_record()
            wiring.add("Records", opaque.name, opaque.entry)
            given[OPAQUE_FIELD] = _OPAQUE_ENTRY
            columns.append(OPAQUE_FIELD)
    return added


def _bind(adoption: Adoption, program: Program) -> None:
    """Offer each unbound capability its proposed bindings in turn; the compiler judges, and
    a proposal it reports an error in gives way to the next. What none fits stays a handler."""
    owner = {
        t.name: e.engine_id
        for t in program.tables
        for e in program.engines
        if t.span.path == _wiring_path(program, e.engine_id)
    }
    proposed = binding_proposals(program, adoption.evidence, owner)
    choice = dict.fromkeys(proposed, 0)
    for _ in range(_BIND_ROUNDS):
        placed = _place(adoption, program, proposed, choice)
        refused = _refused(adoption, program, placed)
        for cap_id in refused:
            choice[cap_id] += 1
        if not refused:
            break
    placed = _place(adoption, program, proposed, choice)
    for cap_id in _refused(adoption, program, placed):
        choice[cap_id] = len(proposed[cap_id][1])
    for draft in _place(adoption, program, proposed, choice).values():
        adoption.counts[f"bindings:{draft.operation}"] += 1
    adoption.declared.clear()  # what the kept bindings declared stays
    adoption.compile()


def _place(
    adoption: Adoption,
    program: Program,
    proposed: dict[str, tuple[str, list[BindingDraft]]],
    choice: dict[str, int],
) -> dict[str, BindingDraft]:
    """Write each capability's current proposal (and the event types they name) into the
    wiring drafts, replacing the previous round's; compile. Returns what was placed."""
    placed: dict[str, BindingDraft] = {}
    for path, section, name in adoption.declared:
        adoption.documents[path].sections[section].pop(name, None)
    adoption.declared.clear()
    for cap_id, (engine_id, drafts) in proposed.items():
        wiring = adoption.wiring(program, engine_id)
        section = wiring.sections.setdefault("Capability Bindings", {})
        section.pop(cap_id, None)
        if choice[cap_id] >= len(drafts):
            continue
        draft = placed[cap_id] = drafts[choice[cap_id]]
        section[cap_id] = draft.entry
        for declared in draft.declares:
            if wiring.add(declared.section, declared.name, declared.entry):
                adoption.declared.append(
                    (_wiring_path(program, engine_id), declared.section, declared.name)
                )
    adoption.compile()
    return placed


def _refused(adoption: Adoption, program: Program, placed: dict[str, BindingDraft]) -> list[str]:
    """The capabilities whose placed binding the last compile reports an error in."""
    assert adoption.result is not None
    texts = adoption.texts()
    errors = [d.span for d in adoption.result.diagnostics if d.severity == "error"]
    refused = []
    for cap_id in placed:
        engine_id = next(
            e.engine_id for e in program.engines if cap_id in {c.id for c in e.capabilities}
        )
        path = _wiring_path(program, engine_id)
        lines = _entry_lines(texts[path], cap_id)
        if any(span.path == path and span.line in lines for span in errors):
            refused.append(cap_id)
    return refused


def _entry_lines(text: str, name: str) -> range:
    """The lines (1-based) of the `### `name`` block of a Markdown spec."""
    lines = text.splitlines()
    start = lines.index(f"### `{name}`")
    end = start + 1
    while end < len(lines) and not lines[end].startswith(("## ", "### ")):
        end += 1
    return range(start + 1, end + 1)
