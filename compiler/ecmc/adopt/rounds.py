"""Drafts the compiler judges: bindings, tool paths and reason-code roles.

Each is placed in the drafted wiring and the system compiled; an entry the compiler reports an
error in is taken back (a binding gives way to the capability's next proposal), so what
`ecmc init` writes always compiles. Bindings come first, over the resolved tables; a tool
path needs the cache's bindings, and its queries are bound after it; roles come last, once
the operations that need them are known.
"""

from __future__ import annotations

from ecm_contract import REPLAYED_FIELD
from ecm_contract.invariants import present

from ecmc.adopt.adoption import Adoption, wiring_path
from ecmc.adopt.bindings import binding_proposals
from ecmc.adopt.fields import runtime_field
from ecmc.adopt.lifecycles import LifecycleDraft, draft_lifecycle
from ecmc.adopt.proposal import BindingDraft, Declaration
from ecmc.adopt.records import OPAQUE_FIELD
from ecmc.adopt.roles import draft_roles
from ecmc.adopt.tools import draft_tool_path
from ecmc.ir import Capability, Program
from ecmc.resolve.dictionary import INFERRED
from ecmc.typeref import ErrorRef, OptionRef, RecordRef, ResultRef

_BIND_ROUNDS = 4


def judge_bindings(adoption: Adoption) -> None:
    """Bindings, then tool paths and the queries they run, then roles."""
    _bind(adoption, adoption.compile())
    if _tool_paths(adoption, adoption.compile()):
        _bind(adoption, adoption.compile())
    if _lifecycles(adoption, adoption.compile()):
        _bind(adoption, adoption.compile())
    _bind(adoption, adoption.compile(), last_resort=True)
    _roles(adoption, adoption.compile())


def _lifecycles(adoption: Adoption, program: Program) -> bool:
    """Draft the lifecycles the evidence writes out, and the records their actions take and
    answer with where those were drafted opaque; all taken back if the compiler refuses."""
    before = _errors(adoption)
    undo: list[tuple[dict[str, str], str, str | None]] = []
    drafted = 0
    for engine in program.engines:
        text = adoption.ecm.get(engine.source, "")
        draft = draft_lifecycle(program, engine, adoption.evidence.get(engine.engine_id), text)
        if draft is None:
            continue
        drafted += 1
        wiring = adoption.wiring(program, engine.engine_id)
        for declared in draft.declarations:
            section = wiring.sections.setdefault(declared.section, {})
            undo.append((section, declared.name, section.get(declared.name)))
            section[declared.name] = declared.entry
        records = wiring.sections.setdefault("Records", {})
        for cap in draft.capabilities:
            for name, members in _named_records(cap, draft):
                if name in records and OPAQUE_FIELD in records[name]:
                    undo.append((records, name, records[name]))
                    records[name] = _with_fields(records[name], name, members)
        dictionary = adoption.fields().sections.setdefault("Fields", {})
        if REPLAYED_FIELD not in dictionary:
            undo.append((dictionary, REPLAYED_FIELD, None))
            dictionary[REPLAYED_FIELD] = runtime_field(REPLAYED_FIELD)
    if not undo:
        return False
    if _errors(adoption) > before:
        for section, name, old in reversed(undo):
            if old is None:
                section.pop(name, None)
            else:
                section[name] = old
        adoption.compile()
        return False
    adoption.counts["lifecycles"] += drafted
    return True


def _errors(adoption: Adoption) -> int:
    return sum(1 for d in adoption.diagnosed().diagnostics if d.severity == "error")


def _named_records(cap: Capability, draft: LifecycleDraft) -> list[tuple[str, tuple[str, ...]]]:
    found = []
    given = cap.input.type if cap.input is not None else None
    if isinstance(given, RecordRef):
        found.append((given.name, draft.inputs))
    answer = cap.output.type if cap.output is not None else None
    while isinstance(answer, ResultRef | OptionRef):
        answer = answer.ok if isinstance(answer, ResultRef) else answer.item
    if isinstance(answer, RecordRef | ErrorRef) and answer.name:
        found.append((answer.name, draft.outputs))
    return found


def _with_fields(entry: str, name: str, fields: tuple[str, ...]) -> str:
    """A drafted opaque record given fields, its variants kept."""
    children = entry[entry.index("\n####") :] if "\n####" in entry else ""
    why = f"- `description`: {INFERRED} from the lifecycle its actions run."
    return f"### `{name}`\n- `fields`: `({', '.join(fields)})`\n{why}\n{children}".rstrip()


def _bind(adoption: Adoption, program: Program, last_resort: bool = False) -> None:
    """Offer each unbound capability its proposed bindings in turn; the compiler judges, and
    a proposal it reports an error in gives way to the next. What none fits stays a handler."""
    owner = {
        t.name: e.engine_id
        for t in program.tables
        for e in program.engines
        if t.span.path == wiring_path(program, e.engine_id)
    }
    proposed = binding_proposals(program, adoption.evidence, owner, last_resort)
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
        bindings = wiring.sections.setdefault("Capability Bindings", {})
        bindings.pop(cap_id, None)
        if choice[cap_id] >= len(drafts):
            continue
        draft = placed[cap_id] = drafts[choice[cap_id]]
        bindings[cap_id] = draft.entry
        for declared in draft.declares:
            if wiring.add(declared.section, declared.name, declared.entry):
                adoption.declared.append(
                    (wiring_path(program, engine_id), declared.section, declared.name)
                )
    adoption.compile()
    return placed


def _refused(adoption: Adoption, program: Program, placed: dict[str, BindingDraft]) -> list[str]:
    """The capabilities whose placed binding the last compile reports an error in."""
    result = present(adoption.result, "the last compile of the drafts")
    texts = adoption.texts()
    errors = [d.span for d in result.diagnostics if d.severity == "error"]
    refused = []
    for cap_id in placed:
        engine_id = next(
            e.engine_id for e in program.engines if cap_id in {c.id for c in e.capabilities}
        )
        path = wiring_path(program, engine_id)
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
    if any(d.severity == "error" for d in adoption.diagnosed().diagnostics):
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
                drafted.append((wiring_path(program, engine.engine_id), declared))
    if not drafted:
        return
    result = adoption.diagnosed()
    texts = {path: adoption.texts()[path].splitlines() for path, _ in drafted}
    errors = {(d.span.path, d.span.line) for d in result.diagnostics if d.severity == "error"}
    for path, declared in drafted:
        line = texts[path].index(declared.entry) + 1
        if (path, line) in errors:
            adoption.documents[path].sections[declared.section].pop(declared.name)
        elif declared.section == "Reason Code Roles":
            adoption.counts["roles"] += 1
    adoption.compile()
