"""Changes to what the runtime does, from the lowered catalogs of both sides: every field of a
capability's catalog entry (its binding, audit, scope, tool path, ...) and of its engine's
contract (reason-code roles, audit event types).

Fields are compared by the contract's own field list, so a field added to the contract is
compared with no change here; `_RULES` says which rule judges a field, `_JUDGES` where the
direction of a change decides it (an event type that becomes NONE drops audit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields, is_dataclass
from enum import Enum

from ecm_contract import Scope
from ecm_contract.catalog import AuditMode, AuditRule, Capability, Catalog, EngineContract

from ecmc.diff.change import Change, new_change
from ecmc.ir import Program
from ecmc.lower.catalog import lower
from ecmc.span import Span

_COMPARED_ELSEWHERE = frozenset(
    {
        "id",
        "engine_id",
        "name",
        "allowed_callers",
        "callers",
        "side_effects",
        "effects",
        "reason_codes",
        "source",
        "output",
        "extras",
        "lifecycle",
    }
)
"""Fields compare.py judges with capability semantics (callers, effects, codes, lifecycles) or
that are prose; every other field of a catalog entry is compared here."""

_FOLLOWS = {
    "severity": "event_type",
    **dict.fromkeys(
        (
            "table",
            "lookup",
            "order_by",
            "fill",
            "audit_payload",
            "success_reason_code",
            "engine_column",
            "cursor",
            "limit",
            "map_key",
            "tool_name",
            "tool_path",
        ),
        "operation",
    ),
}
"""A field whose value follows another's (a capability's severity is its event type's unless
its binding fixes one; a binding's table and keys are its operation's): not reported again
when that one changed. Audit and scope are judged on their own, whatever else changed."""

_BINDING_CHANGED = "ECMD013"


def catalog_changes(old: Program, new: Program) -> Iterator[Change]:
    before, after = lower(old), lower(new)
    spans = _Spans(old), _Spans(new)
    yield from _capabilities(before, after, spans)
    yield from _engines(before, after, spans)


class _Spans:
    """Where the IR states what the catalog lowers: capability, binding, role, event type."""

    def __init__(self, program: Program) -> None:
        self.capabilities = {c.id: c.span for e in program.engines for c in e.capabilities}
        self.bindings = {b.capability_id: b.span for b in program.bindings}
        self.engines = {e.engine_id: e.span for e in program.engines}
        self.roles = {(r.engine_id, r.role): r.span for r in program.reason_code_roles}
        self.event_types = {(t.engine_id, t.name): t.span for t in program.audit_event_types}

    def binding(self, cap_id: str) -> Span:
        return self.bindings.get(cap_id) or self.capabilities[cap_id]


# --- capabilities -------------------------------------------------------------------------


def _capabilities(
    before: Catalog, after: Catalog, spans: tuple[_Spans, _Spans]
) -> Iterator[Change]:
    was = {c.id: c for c in before.capabilities}
    for cap in after.capabilities:
        previous = was.get(cap.id)
        if previous is None:
            continue  # compare.py reports it added
        at, was_at = spans[1].binding(cap.id), spans[0].binding(cap.id)
        for f in fields(Capability):
            follows = _FOLLOWS.get(f.name)
            if follows and getattr(previous, follows) != getattr(cap, follows):
                continue  # it changed because what it follows did, which is reported
            if f.name not in _COMPARED_ELSEWHERE:
                old, new = getattr(previous, f.name), getattr(cap, f.name)
                for path, a, b in _differences(f.name, old, new):
                    code = _JUDGES.get(f.name, _by_rule(f.name))(a, b)
                    if code is not None:
                        message = f"{cap.id}: {path} changed from {_shown(a)} to {_shown(b)}"
                        yield new_change(code, f"{cap.id}.{f.name}", message, at, was_at)


def _differences(path: str, old: object, new: object) -> Iterator[tuple[str, object, object]]:
    """Each (field path, old, new) that differs; into catalog objects field by field."""
    if old == new:
        return
    if is_dataclass(old) and type(old) is type(new) and not isinstance(old, AuditRule):
        for f in fields(old):
            yield from _differences(f"{path}.{f.name}", getattr(old, f.name), getattr(new, f.name))
        return
    yield path, old, new


def _by_rule(name: str) -> Callable[[object, object], str | None]:
    code = _RULES.get(name, _BINDING_CHANGED)
    return lambda _a, _b: code


def _audit(old: object, new: object) -> str | None:
    """Weaker audit (required -> replay only -> none) is security-relevant; stronger is safe;
    keys alone are compare.py's (an audit key dropped, engine-wide)."""
    before, after = _strength(old), _strength(new)
    if before == after:
        return None
    return "ECMD104" if before > after else "ECMD208"


def _strength(rules: object) -> int:
    order = {AuditMode.NONE: 0, AuditMode.REPLAY_ONLY: 1, AuditMode.REQUIRED: 2}
    modes = (
        [order[r.mode] for r in rules if isinstance(r, AuditRule)]
        if isinstance(rules, tuple)
        else []
    )
    return max(modes, default=0)


def _event_type(old: object, new: object) -> str | None:
    return "ECMD104" if old is not None and new is None else _BINDING_CHANGED


def _scope(old: object, new: object) -> str | None:
    """TENANT -> GLOBAL drops tenant scope; to none follows the table, which went away."""
    if new is None:
        return None
    return "ECMD103" if old is Scope.TENANT and new is Scope.GLOBAL else _BINDING_CHANGED


_JUDGES: Mapping[str, Callable[[object, object], str | None]] = {
    "audit": _audit,
    "event_type": _event_type,
    "scope": _scope,
}
_RULES: Mapping[str, str] = {"success_reason_code": "ECMD014", "tool_path": "ECMD016"}


def _shown(value: object) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_shown(v) for v in value) + ")"
    if isinstance(value, AuditRule):
        return f"{value.mode.value}[{', '.join(value.keys)}]"
    return str(value)


# --- engines: roles and audit event types -------------------------------------------------


def _engines(before: Catalog, after: Catalog, spans: tuple[_Spans, _Spans]) -> Iterator[Change]:
    now = {e.engine_id: e for e in after.engines}
    for engine in before.engines:
        current = now.get(engine.engine_id)
        if current is not None:
            yield from _roles(engine, current, spans)
            yield from _event_types(engine, current, spans)


def _roles(
    old: EngineContract, new: EngineContract, spans: tuple[_Spans, _Spans]
) -> Iterator[Change]:
    before, after = dict(old.roles), dict(new.roles)
    for role, code in before.items():
        subject = f"{new.engine_id}.{role}"
        was_at = spans[0].roles[(old.engine_id, str(role))]
        if role not in after:
            message = f"{new.engine_id} no longer names a reason code for {role} (was {code})"
            yield new_change("ECMD014", subject, message, was_at, was_at, old_side=True)
        elif after[role] != code:
            at = spans[1].roles[(new.engine_id, str(role))]
            message = f"{new.engine_id}: {role} answers {after[role]}, not {code}"
            yield new_change("ECMD014", subject, message, at, was_at)


def _event_types(
    old: EngineContract, new: EngineContract, spans: tuple[_Spans, _Spans]
) -> Iterator[Change]:
    before = {t.name: t for t in old.event_types}
    after = {t.name: t for t in new.event_types}
    for name, was in before.items():
        subject = f"{new.engine_id}.{name}"
        was_at = spans[0].event_types[(old.engine_id, name)]
        now = after.get(name)
        if now is None:
            message = f"{new.engine_id} no longer declares audit event type {name}"
            yield new_change("ECMD015", subject, message, was_at, was_at, old_side=True)
            continue
        at = spans[1].event_types[(new.engine_id, name)]
        dropped = [k for k in was.payload_keys if k not in now.payload_keys]
        if dropped:
            message = f"audit event type {name} no longer allows payload {', '.join(dropped)}"
            yield new_change("ECMD015", subject, message, at, was_at)
        added = [k for k in now.payload_keys if k not in was.payload_keys]
        if added:
            message = f"audit event type {name} allows new payload {', '.join(added)}"
            yield new_change("ECMD208", subject, message, at, was_at)
        for path, a, b in _differences(name, was, now):
            if not path.endswith(".payload_keys"):
                message = f"audit event type {path} changed from {_shown(a)} to {_shown(b)}"
                yield new_change(_BINDING_CHANGED, subject, message, at, was_at)
    for name in [n for n in after if n not in before]:
        message = f"{new.engine_id} declares a new audit event type {name}"
        at = spans[1].event_types[(new.engine_id, name)]
        yield new_change("ECMD208", f"{new.engine_id}.{name}", message, at)
