"""Lower one ECM spec's syntax into an `Engine`: header, capabilities, reason codes, audit rules."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from ecmc.diagnostics import Diagnostics
from ecmc.frontend.extract import CAPABILITY_ID, REASON_CODE
from ecmc.frontend.keys import keyed, names_in, value_text
from ecmc.frontend.syntax import AuditRuleSyntax, Bullet, CapabilitySyntax, EngineSyntax, Text
from ecmc.frontend.type_grammar import GrammarError, parse_member
from ecmc.ir import (
    AuditKey,
    AuditRequirement,
    CallerPolicy,
    Capability,
    DataOwned,
    Engine,
    Member,
    ReasonCode,
    Record,
    Schema,
    SideEffects,
    TypeRef,
)
from ecmc.resolve.shapes import input_fields
from ecmc.resolve.types import TypeResolver
from ecmc.span import Span

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
    }
)
RECOMMENDED_HEADER_KEYS = ("purpose", "data_owned", "version", "status")
# Keys the IR models; any other key of a capability is kept in `extras`, and only keys outside
# both sets are reported as unknown.
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
EFFECTS = frozenset({"DB_WRITE", "DB_WRITE_CURRENT_PROJECTION", "EXTERNAL_SEND_REQUEST"})
_SIDE_EFFECTS = re.compile(r"DECLARED\s*\((?P<effects>[^()]*)\)")
_OPTIONAL_BEFORE = re.compile(r"\boptional\s*$", re.IGNORECASE)


def resolve_engine(
    syntax: EngineSyntax,
    digest: str,
    resolver: TypeResolver,
    policies: Mapping[str, CallerPolicy],
    records: Mapping[str, Record],
    diagnostics: Diagnostics,
) -> Engine:
    header = keyed(syntax.header, HEADER_KEYS, "engine header", diagnostics)
    for bullet in syntax.header:
        if bullet.key is None:
            diagnostics.report(
                "ECM018",
                bullet.span,
                f"engine header: expected '`key`: value', found {bullet.text.text[:60]!r}",
            )
    engine_id = _checked_header(header, "engine_id", ENGINE_ID, syntax.header_span, diagnostics)
    for key in RECOMMENDED_HEADER_KEYS:
        if key not in header:
            diagnostics.report("ECM013", syntax.header_span, f"engine header has no {key!r}")
    version = _checked_header(header, "version", VERSION, None, diagnostics)
    status = value_text(header.get("status")) or None
    if status is not None and status not in STATUSES:
        bullet = header["status"]
        assert bullet.value is not None
        diagnostics.report(
            "ECM011",
            bullet.value.span,
            f"status {status!r} is not one of {', '.join(sorted(STATUSES))}",
        )
    default_callers = header.get("allowed_callers")

    capabilities = [
        _capability(cap, default_callers, resolver, policies, records, diagnostics)
        for cap in syntax.capabilities
    ]
    if not capabilities:
        diagnostics.report(
            "ECM041", syntax.header_span, f"engine {engine_id or '?'} declares no capabilities"
        )
    capabilities = _attach_audit(syntax.audit_rules, capabilities, resolver, diagnostics)

    reason_codes: dict[str, ReasonCode] = {}
    for declared in syntax.reason_codes:
        _add_reason_code(reason_codes, declared.code, declared.description, diagnostics)
    for cap_syntax in syntax.capabilities:
        listed = cap_syntax.get("reason_codes")
        if listed is not None:
            for code in _reason_code_list(listed, diagnostics):
                if code.text not in reason_codes:
                    reason_codes[code.text] = ReasonCode(code.text, cap_syntax.id.text, code.span)

    extras = tuple(
        (key, value_text(bullet))
        for key, bullet in header.items()
        if key not in ("engine_id", "purpose", "data_owned", "version", "status")
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
    )


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
            diagnostics.report("ECM010", required_at, f"engine header has no {key!r}")
        return None
    if not pattern.fullmatch(bullet.value.text):
        diagnostics.report(
            "ECM011",
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


def _data_owned(bullet: Bullet | None, diagnostics: Diagnostics) -> tuple[DataOwned, ...]:
    if bullet is None:
        return ()
    names = names_in(bullet)
    if not names:
        diagnostics.report(
            "ECM042",
            bullet.value.span if bullet.value else bullet.span,
            "data_owned names no table: list tables as `table_name`, `other_table`",
        )
        return ()
    # Prose after the last table name says how the table is held: "writes in PH1.D scope".
    close = bullet.text.text.rfind("`")
    note = bullet.text.text[close + 1 :].strip() if bullet.codes and close >= 0 else ""
    return tuple(DataOwned(name.text, note, name.span) for name in names)


def _add_reason_code(
    table: dict[str, ReasonCode], code: Text, description: str, diagnostics: Diagnostics
) -> None:
    if code.text in table:
        diagnostics.report(
            "ECM031",
            code.span,
            f"reason code {code.text} is declared twice in this engine",
            f"first at {table[code.text].span}",
        )
        return
    table[code.text] = ReasonCode(code.text, description, code.span)


def _reason_code_list(bullet: Bullet, diagnostics: Diagnostics) -> list[Text]:
    found: list[Text] = list(names_in(bullet)) if bullet.value is not None else []
    for child in bullet.children:
        found.extend(child.codes or (child.text,))
    checked = []
    for code in found:
        if REASON_CODE.fullmatch(code.text):
            checked.append(code)
        else:
            diagnostics.report(
                "ECM040", code.span, f"reason code {code.text!r} is not UPPER_SNAKE_CASE"
            )
    return checked


def _capability(
    syntax: CapabilitySyntax,
    default_callers: Bullet | None,
    resolver: TypeResolver,
    policies: Mapping[str, CallerPolicy],
    records: Mapping[str, Record],
    diagnostics: Diagnostics,
) -> Capability:
    cap_id = syntax.id.text
    if not CAPABILITY_ID.fullmatch(cap_id):
        diagnostics.report(
            "ECM016",
            syntax.id.span,
            f"capability id {cap_id!r} is malformed: expected UPPER_SNAKE_CASE like "
            "ENGINE_VERB_NOUN",
        )
    keys = keyed(syntax.keys, CAPABILITY_KEYS, f"capability {cap_id}", diagnostics)
    for key in REQUIRED_CAPABILITY_KEYS:
        if key not in keys:
            diagnostics.report("ECM015", syntax.id.span, f"capability {cap_id} has no {key!r}")
    name = value_text(keys.get("name")) or None
    if name is None:
        diagnostics.report("ECM019", syntax.id.span, f"capability {cap_id} has no 'name'")

    callers_bullet = keys.get("allowed_callers", default_callers)
    policy_name: str | None = None
    callers: tuple[str, ...] = ()
    if callers_bullet is None:
        diagnostics.report(
            "ECM015",
            syntax.id.span,
            f"capability {cap_id} has no 'allowed_callers' and the engine header sets no default",
        )
    elif callers_bullet.value is not None:
        policy_name = callers_bullet.value.text
        policy = policies.get(policy_name)
        if policy is None:
            diagnostics.report(
                "ECM032",
                callers_bullet.value.span,
                f"allowed_callers policy {policy_name!r} is not declared by any caller-policy spec",
                f"declared policies: {', '.join(sorted(policies)) or 'none'}",
            )
        else:
            callers = policy.callers

    input_schema = _schema(keys.get("input_schema"), resolver, diagnostics)
    return Capability(
        id=cap_id,
        name=name,
        group=syntax.group,
        allowed_callers=policy_name,
        callers=callers,
        side_effects=_side_effects(keys.get("side_effects"), diagnostics),
        input=input_schema,
        output=_schema(keys.get("output_schema"), resolver, diagnostics),
        input_fields=input_fields(
            input_schema.type if input_schema else TypeRef("unit", syntax.span),
            records,
            cap_id,
            diagnostics,
        ),
        reason_codes=tuple(
            code.text for code in _reason_code_list(keys["reason_codes"], diagnostics)
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


def _side_effects(bullet: Bullet | None, diagnostics: Diagnostics) -> SideEffects | None:
    if bullet is None:
        return None
    if bullet.value is None:
        diagnostics.report("ECM037", bullet.span, "side_effects has no value")
        return None
    text = bullet.value.text.strip()
    if text == "NONE":
        return SideEffects("NONE", ())
    match = _SIDE_EFFECTS.fullmatch(text)
    if match is None:
        diagnostics.report(
            "ECM037",
            bullet.value.span,
            f"side_effects {text!r} is malformed",
            "expected NONE or DECLARED (EFFECT + EFFECT ...)",
        )
        return None
    effects = tuple(e.strip() for e in match.group("effects").split("+"))
    for effect in effects:
        if effect not in EFFECTS:
            offset = max(text.find(effect), 0) if effect else 0
            diagnostics.report(
                "ECM037",
                bullet.value.span.narrow(offset, len(effect)),
                f"unknown side effect {effect!r}",
                f"known effects: {', '.join(sorted(EFFECTS))}",
            )
            return None
    return SideEffects("DECLARED", effects)


def _schema(
    bullet: Bullet | None, resolver: TypeResolver, diagnostics: Diagnostics
) -> Schema | None:
    if bullet is None:
        return None
    if bullet.value is not None:
        return resolver.schema(bullet.value)
    if bullet.children:
        return _prose_schema(bullet, resolver, diagnostics)
    diagnostics.report(
        "ECM020", bullet.span, f"{bullet.key.text if bullet.key else 'schema'} is empty"
    )
    return None


def _prose_schema(bullet: Bullet, resolver: TypeResolver, diagnostics: Diagnostics) -> Schema:
    """A schema written as bullets of prose around backticked fields (the WORK shape).

    Every backticked field is typed; an UPPER_CASE code span is a value being mentioned, not a
    field; prose that names no field is reported, with its location, as untyped.
    """
    members: list[Member] = []
    seen: set[str] = set()
    lines: list[str] = []
    for child in _flatten(bullet.children):
        lines.append(child.text.text)
        fields = [c for c in child.codes if not c.text.isupper()]
        for code in fields:
            parsed = parse_member(code.text, code.span)
            if isinstance(parsed, GrammarError):
                diagnostics.report("ECM020", parsed.span(code.span), parsed.message)
                continue
            member = resolver.member(parsed, named_only=True)
            if member is None:
                continue
            before = child.text.text.split(f"`{code.text}`", 1)[0]
            if _OPTIONAL_BEFORE.search(before):
                member = Member(member.name, member.type, True, member.pinned, member.span)
            if member.name in seen:
                diagnostics.report("ECM026", code.span, f"field {member.name!r} appears twice")
                continue
            seen.add(member.name)
            members.append(member)
        for piece, offset in _untyped_pieces(child.text.text, bool(fields)):
            diagnostics.report(
                "ECM025",
                child.text.span.narrow(offset, len(piece)),
                f"could not type {piece!r}: name the field in backticks",
            )
    span = bullet.key.span if bullet.key is not None else bullet.span
    fields_ref = TypeRef("tuple", span, members=tuple(members))
    if not members:
        fields_ref = TypeRef("error", span)
    return Schema("\n".join(lines), fields_ref)


def _flatten(bullets: tuple[Bullet, ...]) -> list[Bullet]:
    out: list[Bullet] = []
    for bullet in bullets:
        out.append(bullet)
        out.extend(_flatten(bullet.children))
    return out


_SCHEMA_TOKEN = re.compile(r"[(),+]|`[^`]*`|[^,+()`]+")


def _untyped_pieces(text: str, has_fields: bool) -> list[tuple[str, int]]:
    """Prose pieces of a schema bullet that stand where a field should, with their offsets.

    A bullet with no field at all is untyped as a whole. Otherwise the pieces reported are the
    prose members of a field list, `label (`a`, `b`, some flags)`, and prose joined to a field
    by `+`. The label before a list, the word 'optional', and notes in parentheses right after
    a field are description, not members.
    """
    stripped = text.strip()
    if not has_fields:
        return [(stripped, text.find(stripped))] if stripped else []
    found: list[tuple[str, int]] = []
    member_lists: list[bool] = []  # per open parenthesis: does it hold members?
    previous = ""
    for match in _SCHEMA_TOKEN.finditer(text):
        token = match.group()
        if token == "(":
            member_lists.append(previous != "code")
            previous = "("
        elif token == ")":
            if member_lists:
                member_lists.pop()
            previous = ")"
        elif token in (",", "+"):
            previous = token
        elif token.startswith("`"):
            previous = "code"
        elif word := token.strip():
            in_list = len(member_lists) == 1 and member_lists[0] and previous in (",", "(")
            after_plus = not member_lists and previous == "+"
            if (
                (in_list or after_plus)
                and word.lower() != "optional"
                and any(c.isalpha() for c in word)
            ):
                found.append((word, match.start() + token.find(word)))
            previous = "prose"
    return found


def _attach_audit(
    rules: tuple[AuditRuleSyntax, ...],
    capabilities: list[Capability],
    resolver: TypeResolver,
    diagnostics: Diagnostics,
) -> list[Capability]:
    by_id = {cap.id: cap for cap in capabilities}
    attached: dict[str, list[AuditRequirement]] = {cap.id: [] for cap in capabilities}
    for rule in rules:
        keys = _audit_keys(rule, resolver, diagnostics)
        subjects = _rule_subjects(rule, capabilities, diagnostics)
        requirement = AuditRequirement(rule.mode, keys, rule.subject.text, rule.span)
        for cap_id in subjects:
            if cap_id in by_id:
                attached[cap_id].append(requirement)
    return [dataclasses.replace(cap, audit=tuple(attached[cap.id])) for cap in capabilities]


def _audit_keys(
    rule: AuditRuleSyntax, resolver: TypeResolver, diagnostics: Diagnostics
) -> tuple[AuditKey, ...]:
    keys: list[AuditKey] = []
    for child in _flatten(rule.keys):
        if child.key is not None:
            # `event_type`: `STATE_TRANSITION` names a key and the value it holds.
            named = [(child.key, child.text.text.partition(":")[2].strip())]
        else:
            # An UPPER_CASE code span is a value being mentioned (`STATE_TRANSITION`).
            codes = [c for c in child.codes if not c.text.isupper()]
            named = [
                (code, child.text.text.replace(f"`{code.text}`", "", 1).strip())
                if len(codes) == 1
                else (code, "")
                for code in codes
            ]
        for code, qualifier in named:
            if resolver.dictionary.lookup(code.text) is None:
                diagnostics.report(
                    "ECM034",
                    code.span,
                    f"audit key {code.text!r} is not a known field",
                    "audit payload keys must be fields of the field dictionary",
                )
                continue
            keys.append(AuditKey(code.text, qualifier, code.span))
    return tuple(keys)


_SUBJECT_WORDS = re.compile(r"[a-z][a-z\-]*")


def _rule_subjects(
    rule: AuditRuleSyntax, capabilities: list[Capability], diagnostics: Diagnostics
) -> list[str]:
    """The capabilities a rule speaks of: by id, else by a phrase like 'write capabilities'.

    In a phrase, 'write' and 'read' select by side effects and any other word selects the
    capabilities whose group heading contains it ('lifecycle execution capabilities').
    """
    known = {cap.id for cap in capabilities}
    if rule.capability_ids:
        for cap_id in rule.capability_ids:
            if cap_id.text not in known:
                diagnostics.report(
                    "ECM039",
                    cap_id.span,
                    f"audit requirement names {cap_id.text}, which this engine does not declare",
                )
        return [c.text for c in rule.capability_ids]
    lowered = rule.subject.text.lower()
    head, found, _ = lowered.partition("capabilit")
    if not found:
        diagnostics.report(
            "ECM039",
            rule.subject.span,
            "audit requirement names no capability; name capability ids or say which "
            "capabilities ('write capabilities ...')",
        )
        return []
    words = _SUBJECT_WORDS.findall(head)
    selected = capabilities
    if "write" in words:
        selected = [c for c in selected if c.side_effects is not None and c.side_effects.writes]
    if "read" in words:
        selected = [c for c in selected if c.side_effects is not None and not c.side_effects.writes]
    group_words = [w for w in words if w not in ("write", "read", "all", "every", "the")]
    if group_words:
        selected = [
            c
            for c in selected
            if c.group is not None and any(w in c.group.lower() for w in group_words)
        ]
    if not selected:
        diagnostics.report(
            "ECM039", rule.subject.span, "audit requirement matches no capability of this engine"
        )
    return [c.id for c in selected]
