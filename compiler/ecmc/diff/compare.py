"""Two compiled programs in, every classified change out.

The comparison is of the IR and of its lowered catalog (diff/catalog.py), not of the Markdown:
a reworded description or a moved section is no change; a field whose dictionary type narrows
is, in every capability that takes it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ecm_contract import SideEffects as Effects

from ecmc.diff.catalog import catalog_changes
from ecmc.diff.change import Change, new_change
from ecmc.diff.storage import table_changes
from ecmc.diff.types import scalar_of, shown, widening
from ecmc.ir import Capability, Engine, Lifecycle, Program
from ecmc.resolve.shapes import returned_members
from ecmc.span import Span
from ecmc.typeref import TypeRef


def compare(old: Program, new: Program) -> list[Change]:
    """Every change from `old` to `new`, in a stable order."""
    changes = [
        *_capabilities(old, new),
        *_engines(old, new),
        *_lifecycles(old, new),
        *table_changes(old, new),
        *catalog_changes(old, new),
    ]
    return sorted(changes, key=lambda c: (c.at.path, c.at.line, c.at.col, c.rule.code, c.subject))


# --- capabilities ---------------------------------------------------------------------------


def _capabilities(old: Program, new: Program) -> Iterator[Change]:
    before, after = _caps(old), _caps(new)
    for cap_id, (_, cap) in before.items():
        if cap_id not in after:
            message = f"capability {cap_id} was removed"
            yield new_change("ECMD001", cap_id, message, cap.span, cap.span, old_side=True)
    for cap_id, (_, cap) in after.items():
        if cap_id not in before:
            yield new_change("ECMD202", cap_id, f"capability {cap_id} was added", cap.span)
            continue
        was = before[cap_id][1]
        yield from _inputs(old, new, was, cap)
        yield from _outputs(old, new, was, cap)
        yield from _callers(was, cap)
        yield from _effects(was, cap)


def _caps(program: Program) -> dict[str, tuple[Engine, Capability]]:
    return {cap.id: (engine, cap) for engine in program.engines for cap in engine.capabilities}


def _inputs(old: Program, new: Program, was: Capability, cap: Capability) -> Iterator[Change]:
    before = {m.name: m for m in was.input_fields if m.name}
    after = {m.name: m for m in cap.input_fields if m.name}
    for name, member in after.items():
        subject = f"{cap.id}.{name}"
        if name not in before:
            code = "ECMD201" if member.optional else "ECMD002"
            kind = "optional" if member.optional else "required"
            yield new_change(
                code, subject, f"{cap.id} takes a new {kind} input field {name!r}", member.span
            )
            continue
        previous = before[name]
        if previous.optional and not member.optional:
            yield new_change(
                "ECMD002",
                subject,
                f"{cap.id}: input field {name!r} is now required",
                member.span,
                previous.span,
            )
        widened = widening(scalar_of(previous.type), scalar_of(member.type))
        if widened is False:
            yield new_change(
                "ECMD003",
                subject,
                f"{cap.id}: input field {name!r} narrowed from {shown(previous.type)} to "
                f"{shown(member.type)}",
                member.span,
                previous.span,
            )
        elif widened is True:
            yield new_change(
                "ECMD205",
                subject,
                f"{cap.id}: input field {name!r} widened from {shown(previous.type)} to "
                f"{shown(member.type)}",
                member.span,
                previous.span,
            )
    for name, member in before.items():
        if name not in after:
            yield new_change(
                "ECMD011",
                f"{cap.id}.{name}",
                f"{cap.id} no longer takes input field {name!r}",
                member.span,
                member.span,
                old_side=True,
            )


def _outputs(old: Program, new: Program, was: Capability, cap: Capability) -> Iterator[Change]:
    if was.output is None or cap.output is None:
        return
    before = _fields(old, was.output.type)
    after = _fields(new, cap.output.type)
    at, was_at = cap.output.type.span, was.output.type.span
    for name, was_type in before.items():
        subject = f"{cap.id}.{name}" if name else cap.id
        if name not in after:
            yield new_change(
                "ECMD004",
                subject,
                f"{cap.id} no longer returns field {name!r}",
                was_at,
                was_at,
                old_side=True,
            )
        elif after[name] != was_type:
            what = f"field {name!r}" if name else "its output"
            yield new_change(
                "ECMD004",
                subject,
                f"{cap.id}: {what} changed from {was_type} to {after[name]}",
                at,
                was_at,
            )
    for name in sorted(after.keys() - before.keys()):
        yield new_change(
            "ECMD206", f"{cap.id}.{name}", f"{cap.id} returns a new field {name!r}", at
        )


def _fields(program: Program, ref: TypeRef) -> dict[str, str]:
    """The fields a caller reads from an output: `""` is the output itself when it has none."""
    members = returned_members(program, ref)
    if members is None:
        return {"": shown(ref)}
    return {m.name: shown(m.type) for m in members if m.name}


def _callers(was: Capability, cap: Capability) -> Iterator[Change]:
    added = sorted(set(cap.callers) - set(was.callers))
    removed = sorted(set(was.callers) - set(cap.callers))
    if added:
        yield new_change(
            "ECMD101",
            cap.id,
            f"{cap.id} now admits {', '.join(added)} ({cap.allowed_callers})",
            cap.span,
            was.span,
        )
    if removed:
        yield new_change(
            "ECMD207", cap.id, f"{cap.id} no longer admits {', '.join(removed)}", cap.span, was.span
        )


def _effects(was: Capability, cap: Capability) -> Iterator[Change]:
    before = was.side_effects.kind if was.side_effects else None
    after = cap.side_effects.kind if cap.side_effects else None
    if before == Effects.NONE and after == Effects.DECLARED:
        effects = " + ".join(cap.side_effects.effects) if cap.side_effects else ""
        yield new_change(
            "ECMD102",
            cap.id,
            f"{cap.id} had no side effects and now declares {effects}",
            cap.span,
            was.span,
        )


# --- engines: reason codes, audit keys ---------------------------------------------------------


def _engines(old: Program, new: Program) -> Iterator[Change]:
    after = {e.engine_id: e for e in new.engines}
    for engine in old.engines:
        now = after.get(engine.engine_id)
        if now is None:
            continue  # its capabilities are reported removed one by one
        before_codes = {rc.code: rc for rc in engine.reason_codes}
        after_codes = {rc.code: rc for rc in now.reason_codes}
        for code in sorted(before_codes.keys() - after_codes.keys()):
            yield new_change(
                "ECMD005",
                code,
                f"{now.engine_id} no longer declares reason code {code}",
                before_codes[code].span,
                before_codes[code].span,
                old_side=True,
            )
        for code in sorted(after_codes.keys() - before_codes.keys()):
            yield new_change(
                "ECMD203",
                code,
                f"{now.engine_id} declares a new reason code {code}",
                after_codes[code].span,
            )
        for key in [k for k in engine.audit_keys if k not in now.audit_keys]:
            yield new_change(
                "ECMD006",
                f"{now.engine_id}.{key}",
                f"{now.engine_id} no longer emits audit key {key!r}",
                now.span,
                engine.span,
            )


# --- lifecycles -------------------------------------------------------------------------------


def _lifecycles(old: Program, new: Program) -> Iterator[Change]:
    after = {(lc.engine_id, lc.name): lc for lc in new.lifecycles}
    for lifecycle in old.lifecycles:
        now = after.get((lifecycle.engine_id, lifecycle.name))
        if now is None:
            yield new_change(
                "ECMD007",
                lifecycle.name,
                f"lifecycle {lifecycle.name} was removed",
                lifecycle.span,
                lifecycle.span,
                old_side=True,
            )
            continue
        for state in [s for s in lifecycle.states if s not in now.states]:
            yield new_change(
                "ECMD007",
                f"{now.name}.{state}",
                f"lifecycle {now.name} no longer has state {state}",
                now.span,
                lifecycle.span,
            )
        edges = _edges(now)
        for edge, span in _edges(lifecycle).items():
            if edge not in edges:
                action, source, target = edge
                yield new_change(
                    "ECMD007",
                    f"{now.name}.{action}",
                    f"lifecycle {now.name} no longer has {action}: {source} -> {target}",
                    now.span,
                    span,
                )


def _edges(lifecycle: Lifecycle) -> dict[tuple[str, str, str], Span]:
    return {
        (t.action, source, t.to_state): t.span
        for t in lifecycle.transitions
        for source in t.from_states
    }
