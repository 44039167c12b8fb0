"""Capability bindings drafted from the evidence, each marked with what it was read from.

For every capability its wiring leaves unbound, the rules of `adopt.operations` propose
bindings, the most specific first: a read by key, a map, a list, a rebuild, a write of the
audit log, an append or upsert of a row its input holds, a handler for an unaudited write.
The drafter offers the first proposal, the compiler judges, and a refused proposal gives way
to the next (`ecmc init` compiles between rounds). A capability no proposal fits is left a
handler: the team's own code runs it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ecmc.adopt.operations import Scene, proposals
from ecmc.adopt.proposal import BindingDraft, is_audit_log, keyed_table, words
from ecmc.adopt.wiring_docs import WiringDocument, WriteEvidence
from ecmc.ir import Capability, Engine, Program
from ecmc.typeref import ErrorRef, ListRef, OptionRef, RecordRef, ResultRef, TypeRef


def binding_proposals(
    program: Program,
    evidence: Mapping[str, WiringDocument],
    owner: Mapping[str, str],
    last_resort: bool = False,
) -> dict[str, tuple[str, list[BindingDraft]]]:
    """Capability id -> (its engine id, every binding proposed for it, in order), for each
    capability no wiring binds yet; handlers only as the `last_resort`."""
    bound = {b.capability_id for b in program.bindings}
    tables = {t.name: t for t in program.tables}
    logs = [t for t in program.tables if is_audit_log(t)]
    records = {r.name: r for r in program.records}
    found: dict[str, tuple[str, list[BindingDraft]]] = {}
    for engine in program.engines:
        owned = tuple(tables[d.table] for d in engine.data_owned if d.table in tables)
        document = evidence.get(engine.engine_id)
        success = tuple(c.code for c in engine.reason_codes if "ok" in words(c.code))
        for cap in engine.capabilities:
            if cap.id in bound:
                continue
            scene = Scene(
                program,
                engine,
                owned,
                logs[0] if len(logs) == 1 else None,
                owner.get,
                records,
                _writes_of(cap, engine, document),
                success,
                tuple(document.event_types) if document is not None else (),
                any(p.engine_id == engine.engine_id for p in program.tool_paths),
                last_resort,
            )
            drafts = list(proposals(cap, scene))
            if drafts:
                found[cap.id] = (engine.engine_id, drafts)
    return found


def _writes_of(
    cap: Capability, engine: Engine, document: WiringDocument | None
) -> tuple[WriteEvidence, ...]:
    """The write path of the document that speaks of this capability: the one whose title's
    distinguishing words the capability's id holds most of, when it is the only best."""
    if document is None or not document.writes:
        return ()
    titles = [words(w.title) for w in document.writes]
    common = set.intersection(*titles) if len(titles) > 1 else set()
    have = words(cap.id)
    scores = [len((t - common) & have) for t in titles]
    best = max(scores)
    if best == 0 or scores.count(best) > 1:
        return ()
    return (document.writes[scores.index(best)],)


def rows_read(program: Program) -> dict[str, str]:
    """Type name -> the table whose row it is, where a read-only capability returns it (alone,
    optional or listed) and its input carries the key of exactly one table its engine owns."""
    tables = {t.name: t for t in program.tables}
    found: dict[str, str] = {}
    for engine in program.engines:
        owned = [tables[d.table] for d in engine.data_owned if d.table in tables]
        for cap in engine.capabilities:
            keyed = None if cap.writes or cap.output is None else keyed_table(cap, owned)
            name = _returned_name(cap.output.type) if cap.output is not None else None
            if keyed is not None and name is not None:
                found.setdefault(name, keyed[0].name)
    return found


def _returned_name(ref: TypeRef) -> str | None:
    """The named type a schema returns: `T`, `Option<T>`, `List<T>`, `Result<T, E>`'s `T`."""
    while isinstance(ref, OptionRef | ListRef | ResultRef):
        ref = ref.ok if isinstance(ref, ResultRef) else ref.item
    return ref.name if isinstance(ref, ErrorRef | RecordRef) else None
