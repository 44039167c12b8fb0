"""Audit event types: what each engine's audit rows may carry, and at which severity.

An engine's wiring declares the event types its audit rows use (`## Audit Event Types`), one
heading each: the payload keys the type allows (by default every audit key the engine's ECM
spec lists) and, when the type fixes it, its severity. A type declared with `emitted_by`:
`ALL` may be written by any engine, with exactly the payload keys it lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ecm_contract import AuditColumn

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import bullet_names, keyed, value_text
from ecmc.frontend.syntax import CompanionSection, Entry
from ecmc.ir import AuditEventType, Capability, Engine
from ecmc.resolve.audit_rules import inline_fields
from ecmc.resolve.dictionary import FieldDictionary, report_unconfirmed
from ecmc.span import Span

SEVERITIES = ("INFO", "WARN", "ERROR", "CRITICAL")
"""The audit envelope's severities, least to most severe."""
EVENT_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
EVENT_TYPE_KEYS = frozenset({"severity", "payload_keys", "emitted_by", "description"})
ANY_ENGINE = "ALL"


def resolve_event_types(
    sections: Iterable[tuple[str, CompanionSection]],
    engines: Mapping[str, Engine],
    dictionary: FieldDictionary,
    diagnostics: Diagnostics,
) -> list[AuditEventType]:
    """The event types of every wiring spec's `Audit Event Types` section, by engine id."""
    found: dict[tuple[str, str], AuditEventType] = {}
    for engine_id, section in sections:
        engine = engines.get(engine_id)
        for entry in section.entries:
            event_type = _event_type(engine_id, engine, entry, dictionary, diagnostics)
            if event_type is None:
                continue
            key = (engine_id, event_type.name)
            if key in found:
                diagnostics.report(
                    Code.BAD_AUDIT_EVENT_TYPE,
                    entry.name.span,
                    f"audit event type {event_type.name!r} is declared twice for {engine_id}",
                    f"first at {found[key].span}",
                )
                continue
            found[key] = event_type
    return list(found.values())


def find_event_type(
    types: Iterable[AuditEventType], engine_id: str, name: str
) -> AuditEventType | None:
    """The engine's own declaration of an event type, else one declared for every engine."""
    candidates = [t for t in types if t.name == name]
    own = next((t for t in candidates if t.engine_id == engine_id), None)
    return own or next((t for t in candidates if t.any_engine), None)


def severity_problem(value: str) -> str | None:
    if value in SEVERITIES:
        return None
    return f"severity {value!r} is not one of {', '.join(SEVERITIES)}"


def _event_type(
    engine_id: str,
    engine: Engine | None,
    entry: Entry,
    dictionary: FieldDictionary,
    diagnostics: Diagnostics,
) -> AuditEventType | None:
    name = entry.name.text
    if not EVENT_TYPE_NAME.fullmatch(name):
        diagnostics.report(
            Code.BAD_AUDIT_EVENT_TYPE,
            entry.name.span,
            f"audit event type {name!r} must be a name of letters, digits and '_' (at most 64)",
        )
        return None
    keys = keyed(entry.keys, EVENT_TYPE_KEYS, f"audit event type {name}", diagnostics)
    severity = value_text(keys.get("severity")) or None
    if severity is not None and (problem := severity_problem(severity)):
        bullet = keys["severity"]
        diagnostics.report(
            Code.BAD_AUDIT_EVENT_TYPE, bullet.value.span if bullet.value else bullet.span, problem
        )
        severity = None
    any_engine = value_text(keys.get("emitted_by")) == ANY_ENGINE
    if "emitted_by" in keys and not any_engine:
        diagnostics.report(
            Code.BAD_AUDIT_EVENT_TYPE,
            keys["emitted_by"].span,
            f"emitted_by is '{ANY_ENGINE}' or left out (the declaring engine only)",
        )
    listed = bullet_names(keys.get("payload_keys"), diagnostics)
    inline = inline_fields(engine.capabilities) if engine is not None else frozenset()
    for key in listed:
        if dictionary.lookup(key.text) is None and key.text not in inline:
            diagnostics.report(
                Code.UNKNOWN_AUDIT_KEY, key.span, f"payload key {key.text!r} is not a known field"
            )
    if "payload_keys" in keys:
        payload_keys = tuple(dict.fromkeys(k.text for k in listed))
    elif any_engine:
        diagnostics.report(
            Code.BAD_AUDIT_EVENT_TYPE,
            entry.name.span,
            f"{name} is declared for every engine, so it must list its 'payload_keys'",
        )
        payload_keys = ()
    else:
        payload_keys = engine.audit_keys if engine is not None else ()
    description = value_text(keys.get("description"))
    report_unconfirmed(description, entry.name.span, f"audit event type {name}", diagnostics)
    return AuditEventType(
        engine_id=engine_id,
        name=name,
        severity=severity,
        payload_keys=payload_keys,
        any_engine=any_engine,
        description=description,
        span=entry.name.span,
    )


def own_types_declared(
    event_types: Iterable[AuditEventType],
    engine_id: str,
    cap_id: str,
    at: Span,
    diagnostics: Diagnostics,
) -> None:
    """An audit_append that takes its own event type needs types its engine may emit: the
    runtime refuses every other."""
    if not any(t.any_engine or t.engine_id == engine_id for t in event_types):
        diagnostics.report(
            Code.BAD_AUDIT_EVENT_TYPE,
            at,
            f"{cap_id} takes its own event_type, but no audit event type is declared for "
            f"{engine_id}: the runtime would refuse every call",
            "declare the types it writes under '## Audit Event Types' in the engine's wiring",
        )


def keys_refused(capability: Capability, declared: AuditEventType) -> str:
    """What refuses every call of a capability whose audit rows carry keys (the audit keys its
    spec lists that its input carries, beside the envelope's columns) that its event type
    does not allow; "" when nothing does."""
    given = {m.name for m in capability.input_fields}
    listed = {key.name for req in capability.audit for key in req.keys}
    carried = sorted(listed & given - set(AuditColumn) - set(declared.payload_keys))
    if not carried:
        return ""
    return (
        f"{capability.id}: its audit rows would carry {', '.join(carried)}, which event type "
        f"{declared.name} does not allow (it allows {', '.join(declared.payload_keys) or 'none'})"
        ": every call would be refused; list them in its 'payload_keys', or name another type"
    )
