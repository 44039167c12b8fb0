"""Lower one ECM spec's syntax into an `Engine`: header, capabilities, reason codes, audit rules."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.extract import CAPABILITY_ID
from ecmc.frontend.keys import keyed, names_in, value_text
from ecmc.frontend.syntax import Bullet, CapabilitySyntax, EngineSyntax
from ecmc.ir import (
    CallerPolicy,
    Capability,
    DataOwned,
    Engine,
    Record,
    Schema,
)
from ecmc.resolve.approvals import approvals
from ecmc.resolve.audit_rules import attach_audit
from ecmc.resolve.prose import prose_schema
from ecmc.resolve.reason_codes import engine_reason_codes, reason_code_list
from ecmc.resolve.schema_text import read_schema
from ecmc.resolve.schemas import Restated, RestatedSchema
from ecmc.resolve.shapes import input_fields
from ecmc.resolve.side_effects import side_effects
from ecmc.resolve.types import TypeResolver
from ecmc.span import Span
from ecmc.typeref import UnitRef

ENGINE_ID = re.compile(r"[A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*")


VERSION = re.compile(r"v[0-9]+(?:\.[0-9]+)*")


STATUSES = frozenset({"ACTIVE", "DRAFT", "DEPRECATED", "RETIRED"})


HEADER_KEYS = frozenset(
    {
        "engine_id",
        "purpose",
        "data_owned",
        "version",
        "status",
        "allowed_callers",
        "role",
        "placement",
        "implementation_id",
        "owner",
        "approved_changes",
    }
)


RECOMMENDED_HEADER_KEYS = ("purpose", "data_owned", "version", "status")


CAPABILITY_CORE_KEYS = frozenset(
    {
        "name",
        "input_schema",
        "output_schema",
        "allowed_callers",
        "side_effects",
        "failure_modes",
        "reason_codes",
    }
)


CAPABILITY_KEYS = CAPABILITY_CORE_KEYS | {"simulation_gated", "simulation_id", "description"}


REQUIRED_CAPABILITY_KEYS = ("input_schema", "output_schema", "side_effects")


def resolve_engine(
    syntax: EngineSyntax,
    digest: str,
    resolver: TypeResolver,
    policies: Mapping[str, CallerPolicy],
    records: Mapping[str, Record],
    restated: Restated,
    diagnostics: Diagnostics,
) -> Engine:
    header = keyed(syntax.header, HEADER_KEYS, "engine header", diagnostics)
    engine_id, version, status = _header(syntax, header, diagnostics)
    default_callers = header.get("allowed_callers")

    capabilities = [
        _capability(
            cap,
            default_callers,
            resolver,
            policies,
            records,
            restated.get((engine_id or "", cap.id.text)),
            diagnostics,
        )
        for cap in _refined(syntax.capabilities, diagnostics)
    ]
    if not capabilities:
        diagnostics.report(
            Code.NO_CAPABILITIES,
            syntax.header_span,
            f"engine {engine_id or '?'} declares no capabilities",
        )
    capabilities, audit_keys = attach_audit(syntax.audit_rules, capabilities, resolver, diagnostics)

    reason_codes = engine_reason_codes(syntax, diagnostics)
    extras = tuple(
        (key, value_text(bullet))
        for key, bullet in header.items()
        if key
        not in ("engine_id", "purpose", "data_owned", "version", "status", "approved_changes")
    )
    return Engine(
        engine_id=engine_id or "",
        source=syntax.path,
        digest=digest,
        title=syntax.title,
        purpose=_full_value(header.get("purpose")),
        version=version,
        status=status,
        data_owned=_data_owned(header.get("data_owned"), diagnostics),
        capabilities=tuple(capabilities),
        reason_codes=tuple(reason_codes.values()),
        sources=syntax.sources,
        notes=syntax.notes,
        header_extras=extras,
        span=syntax.header_span,
        audit_keys=audit_keys,
        approvals=approvals(header.get("approved_changes"), diagnostics),
    )


def _refined(
    declared: tuple[CapabilitySyntax, ...], diagnostics: Diagnostics
) -> list[CapabilitySyntax]:
    """Capabilities in order; a later heading `` `ID` more words `` of an id already declared
    refines it: its keys replace the first declaration's, key by key (reported, ECM071)."""
    found: dict[str, CapabilitySyntax] = {}
    order: list[str | int] = []
    for index, cap in enumerate(declared):
        first = found.get(cap.id.text)
        if first is None or not cap.refines:
            if first is None:
                found[cap.id.text] = cap
                order.append(cap.id.text)
            else:
                order.append(index)  # a plain second declaration: a duplicate, reported later
            continue
        diagnostics.report(
            Code.REFINED_CAPABILITY,
            cap.id.span,
            f"capability {cap.id.text} is declared again ({cap.refines!r}); its keys refine "
            "the first declaration",
            f"first at {first.span}",
        )
        given = {b.key.text for b in cap.keys if b.key is not None}
        kept = tuple(b for b in first.keys if b.key is None or b.key.text not in given)
        found[cap.id.text] = dataclasses.replace(first, keys=kept + cap.keys)
    return [found[item] if isinstance(item, str) else declared[item] for item in order]


def _header(
    syntax: EngineSyntax, header: Mapping[str, Bullet], diagnostics: Diagnostics
) -> tuple[str | None, str | None, str | None]:
    """The engine id, version and status the header gives, each checked."""
    for bullet in syntax.header:
        if bullet.key is None:
            diagnostics.report(
                Code.UNREADABLE_LINE,
                bullet.span,
                f"engine header: expected '`key`: value', found {bullet.text.text[:60]!r}",
            )
    engine_id = _checked_header(header, "engine_id", ENGINE_ID, syntax.header_span, diagnostics)
    for key in RECOMMENDED_HEADER_KEYS:
        if key not in header:
            diagnostics.report(
                Code.MISSING_RECOMMENDED_KEY, syntax.header_span, f"engine header has no {key!r}"
            )
    version = _unusual_header(header.get("version"), "version", VERSION, diagnostics)
    status = _unusual_header(header.get("status"), "status", _STATUS, diagnostics)
    return engine_id, version, status


_STATUS = re.compile("|".join(sorted(STATUSES)))


def _unusual_header(
    bullet: Bullet | None, key: str, common: re.Pattern[str], diagnostics: Diagnostics
) -> str | None:
    """A version or status as written: nothing reads it but people, so a value outside the
    common pattern (`vNext`, `DONE (design-level)`) is kept and said, not refused."""
    if bullet is None or bullet.value is None:
        return None
    value = " ".join(f"{bullet.value.text} {bullet.trailing}".split()) or bullet.value.text
    if not common.fullmatch(value):
        diagnostics.report(
            Code.READING,
            bullet.value.span,
            f"{key} {value!r} is outside the common pattern ({common.pattern}): kept as written",
        )
    return value


def _checked_header(
    header: Mapping[str, Bullet],
    key: str,
    pattern: re.Pattern[str],
    required_at: Span | None,
    diagnostics: Diagnostics,
) -> str | None:
    bullet = header.get(key)
    if bullet is None or bullet.value is None:
        if required_at is not None:
            diagnostics.report(Code.MISSING_KEY, required_at, f"engine header has no {key!r}")
        return None
    if not pattern.fullmatch(bullet.value.text):
        diagnostics.report(
            Code.MALFORMED_VALUE,
            bullet.value.span,
            f"{key} {bullet.value.text!r} is malformed (expected {pattern.pattern})",
        )
        return None
    return bullet.value.text


def _full_value(bullet: Bullet | None) -> str:
    """A prose value exactly as written after its key, code spans and all."""
    if bullet is None:
        return ""
    _, _, value = bullet.text.text.partition(":")
    return value.strip()


_OWNS_NOTHING = frozenset({"none", "n/a", "-", "nothing"})
"""`data_owned`: `none`: an engine of pure computations, which owns no table."""


def _data_owned(bullet: Bullet | None, diagnostics: Diagnostics) -> tuple[DataOwned, ...]:
    if bullet is None or value_text(bullet).strip("`. ").lower() in _OWNS_NOTHING:
        return ()
    names = names_in(bullet)
    if not names:
        diagnostics.report(
            Code.NO_OWNED_TABLE,
            bullet.value.span if bullet.value else bullet.span,
            "data_owned names no table: list tables as `table_name`, `other_table`",
        )
        return ()
    # Prose after the last table name says how the table is held: "writes in PH1.D scope".
    close = bullet.text.text.rfind("`")
    note = bullet.text.text[close + 1 :].strip() if bullet.codes and close >= 0 else ""
    return tuple(DataOwned(name.text, note, name.span) for name in names)


def _capability(
    syntax: CapabilitySyntax,
    default_callers: Bullet | None,
    resolver: TypeResolver,
    policies: Mapping[str, CallerPolicy],
    records: Mapping[str, Record],
    restated: RestatedSchema | None,
    diagnostics: Diagnostics,
) -> Capability:
    cap_id = syntax.id.text
    # The wiring's restated schema replaces the ECM text's, which is then not read at all.
    restated_keys = _schema_keys(restated)
    keys = {**_capability_keys(syntax, restated_keys, diagnostics), **restated_keys}
    name = value_text(keys.get("name")) or None

    callers_bullet = keys.get("allowed_callers", default_callers)
    policy_name, callers = _callers(callers_bullet, syntax, policies, diagnostics)
    input_schema = _schema(keys.get("input_schema"), resolver, diagnostics)
    return Capability(
        id=cap_id,
        name=name,
        group=syntax.group,
        section=syntax.section,
        allowed_callers=policy_name,
        callers=callers,
        side_effects=side_effects(keys.get("side_effects"), diagnostics),
        input=input_schema,
        output=_schema(keys.get("output_schema"), resolver, diagnostics),
        input_fields=input_fields(
            input_schema.type if input_schema else UnitRef(syntax.span),
            records,
            cap_id,
            diagnostics,
        ),
        reason_codes=tuple(
            code.text for code in reason_code_list(keys["reason_codes"], diagnostics)
        )
        if "reason_codes" in keys
        else (),
        failure_modes=tuple(n.text for n in names_in(keys["failure_modes"]))
        if "failure_modes" in keys
        else (),
        audit=(),
        extras=tuple(
            (key, value_text(bullet))
            for key, bullet in keys.items()
            if key not in CAPABILITY_CORE_KEYS
        ),
        span=syntax.span,
    )


def _schema_keys(restated: RestatedSchema | None) -> dict[str, Bullet]:
    if restated is None:
        return {}
    return {k: v for k, v in restated.keys.items() if k in ("input_schema", "output_schema")}


def _capability_keys(
    syntax: CapabilitySyntax, restated: Mapping[str, Bullet], diagnostics: Diagnostics
) -> dict[str, Bullet]:
    """A capability's keys, with its id, its required keys (or their restatement in the
    wiring) and its name checked."""
    cap_id = syntax.id.text
    if not CAPABILITY_ID.fullmatch(cap_id):
        diagnostics.report(
            Code.MALFORMED_CAPABILITY_ID,
            syntax.id.span,
            f"capability id {cap_id!r} is malformed: expected UPPER_SNAKE_CASE like "
            "ENGINE_VERB_NOUN",
        )
    keys = keyed(syntax.keys, CAPABILITY_KEYS, f"capability {cap_id}", diagnostics)
    for key in REQUIRED_CAPABILITY_KEYS:
        if key not in keys and key not in restated:
            diagnostics.report(
                Code.CAPABILITY_KEY_MISSING, syntax.id.span, f"capability {cap_id} has no {key!r}"
            )
    if not value_text(keys.get("name")):
        diagnostics.report(
            Code.UNNAMED_CAPABILITY, syntax.id.span, f"capability {cap_id} has no 'name'"
        )
    return keys


def _callers(
    bullet: Bullet | None,
    syntax: CapabilitySyntax,
    policies: Mapping[str, CallerPolicy],
    diagnostics: Diagnostics,
) -> tuple[str | None, tuple[str, ...]]:
    """The capability's allowed_callers policy (its own, else the header's) and the caller
    classes it admits."""
    if bullet is None:
        diagnostics.report(
            Code.CAPABILITY_KEY_MISSING,
            syntax.id.span,
            f"capability {syntax.id.text} has no 'allowed_callers' and the engine header sets "
            "no default",
        )
        return None, ()
    if bullet.value is None:
        return None, ()
    policy_name = bullet.value.text
    policy = policies.get(policy_name)
    if policy is None:
        diagnostics.report(
            Code.UNKNOWN_POLICY,
            bullet.value.span,
            f"allowed_callers policy {policy_name!r} is not declared by any caller-policy spec",
            f"declared policies: {', '.join(sorted(policies)) or 'none'}",
        )
        return policy_name, ()
    return policy_name, policy.callers


def _schema(
    bullet: Bullet | None, resolver: TypeResolver, diagnostics: Diagnostics
) -> Schema | None:
    if bullet is None:
        return None
    if bullet.value is not None:
        return read_schema(bullet, resolver, diagnostics)
    if bullet.children:
        return prose_schema(bullet, resolver, diagnostics)
    diagnostics.report(
        Code.TYPE_SYNTAX, bullet.span, f"{bullet.key.text if bullet.key else 'schema'} is empty"
    )
    return None
