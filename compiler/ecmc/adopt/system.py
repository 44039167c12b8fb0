"""A whole system of ECM files in, the companion specs that make it compile out.

Drafting is a fixed point: compile what there is, draft what the compiler found missing
(caller policies, owned tables, named types, unreadable schemas, field types), compile again,
until a round finds nothing new to draft. Bindings are drafted last, over the resolved tables,
and a drafted binding the compiler refuses is dropped (its capability stays a handler).
Existing companion specs (`ecmc init --update`) take part unchanged; drafts only add entries.
"""

from __future__ import annotations

from collections.abc import Mapping

from ecm_contract import TruthType

from ecmc.adopt.adoption import Adoption, source
from ecmc.adopt.bindings import rows_read
from ecmc.adopt.callers import add_policies, undeclared_policies
from ecmc.adopt.documents import Document
from ecmc.adopt.drafts import (
    field_entry,
    placeholder_entry,
    row_input,
    table_entry,
)
from ecmc.adopt.fields import (
    convention_disagrees,
    dictionary_types,
    draft_dictionary,
    first_columns,
    untyped_fields,
)
from ecmc.adopt.records import (
    OPAQUE_FIELD,
    OPAQUE_RECORD,
    draft_record,
    opaque_record,
    undefined_types,
)
from ecmc.adopt.rounds import judge_bindings
from ecmc.adopt.schemas import unreadable_schemas
from ecmc.adopt.sql import SqlSchema
from ecmc.adopt.wiring_docs import WiringDocument, table_evidence
from ecmc.ir import Engine, Program
from ecmc.resolve.dictionary import INFERRED

CALLERS_PATH = "specs/common/callers.md"
_MAX_ROUNDS = 8
_OPAQUE_ENTRY = (
    f"- `{OPAQUE_FIELD}`: `object` — {INFERRED} from the opaque records: any JSON object"
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
    judge_bindings(adoption)
    return adoption


def _draft_round(adoption: Adoption, program: Program, sql: SqlSchema) -> bool:
    """One round of drafts for what the compiled program lacks; True when anything was added."""
    columns: list[str] = []
    given: dict[str, str] = {}
    added = _callers(adoption, program)
    defined = {t.name for t in program.tables}
    tables_added = False
    for table, engine in _owners(program).items():
        if table not in defined:
            text = adoption.ecm.get(engine.source, "")
            tables_added |= _table(
                adoption, program, engine.engine_id, table, text, sql, given, defined
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


def _owners(program: Program) -> dict[str, Engine]:
    """Table -> the engine whose wiring drafts it: of the engines that list it in
    `data_owned`, the first to list it plainly (`audit_events`), not qualified (`audit_events`
    writes in PH1.D scope: a writer of a table another engine keeps)."""
    found: dict[str, Engine] = {}
    plain: set[str] = set()
    for engine in program.engines:
        for owned in engine.data_owned:
            if owned.table not in found or (not owned.note and owned.table not in plain):
                found[owned.table] = engine
            if not owned.note:
                plain.add(owned.table)
    return found


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
        text = adoption.ecm.get(source(program, engine_id), "")
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
    first = first_columns(sql)
    for column in imported.columns.values():
        if convention_disagrees(first[column.name][0]):
            # The database's type wins over a naming convention's guess; the name's first
            # column types it, and a table whose column stores otherwise types its own.
            adoption.fields().add("Fields", column.name, field_entry(*first[column.name]))
    for target in (fk.table for fk in imported.foreign_keys):
        if target not in defined and target in sql.tables:
            _table(adoption, program, engine_id, target, text, sql, given, defined)
    entry = table_entry(
        imported, text, sql.tables, table_evidence(adoption.evidence), dictionary_types(sql)
    )
    return _add_table(adoption, program, engine_id, name, entry, "sql")


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
