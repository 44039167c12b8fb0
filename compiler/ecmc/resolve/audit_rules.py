"""An ECM spec's audit emission requirements, attached to the capabilities they speak of:
by id, or by a phrase such as 'write capabilities'.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from ecm_contract.catalog import AuditMode

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import AuditRuleSyntax, Text
from ecmc.ir import AuditKey, AuditRequirement, Capability
from ecmc.resolve.dictionary import FIELD_NAME
from ecmc.resolve.prose import flatten
from ecmc.resolve.types import TypeResolver
from ecmc.typeref import ScalarRef, walk


def attach_audit(
    rules: tuple[AuditRuleSyntax, ...],
    capabilities: list[Capability],
    resolver: TypeResolver,
    diagnostics: Diagnostics,
) -> tuple[list[Capability], tuple[str, ...]]:
    """The capabilities with the requirements that name them, and every key listed."""
    by_id = {cap.id: cap for cap in capabilities}
    listed: dict[str, None] = {}
    attached: dict[str, list[AuditRequirement]] = {cap.id: [] for cap in capabilities}
    inline = inline_fields(capabilities)
    for rule in rules:
        keys = _audit_keys(rule, resolver, inline, diagnostics)
        listed.update(dict.fromkeys(k.name for k in keys))
        subjects = _rule_subjects(rule, capabilities, diagnostics)
        requirement = AuditRequirement(AuditMode(rule.mode), keys, rule.subject.text, rule.span)
        if rule.evidence:
            at = rule.subject.text.lower().find(rule.evidence)
            diagnostics.report(
                Code.PROSE_HEURISTIC,
                rule.subject.span.narrow(max(at, 0), len(rule.evidence)),
                f"audit requirement read as {rule.mode!r} from the words {rule.evidence!r}",
                "rule: 'not emit'/'no audit'/'emit nothing' -> none; 'only in'/'replay'/"
                "'diagnostic' -> replay_only; otherwise required",
                "it decides only which bindings must name an event type; what the runtime "
                "audits comes from each binding's `event_type`",
            )
        for cap_id in subjects:
            if cap_id in by_id:
                attached[cap_id].append(requirement)
    audited = [dataclasses.replace(cap, audit=tuple(attached[cap.id])) for cap in capabilities]
    return audited, tuple(listed)


def inline_fields(capabilities: Iterable[Capability]) -> frozenset[str]:
    """Fields the capabilities' schemas type in place (inline enums, booleans): known fields
    of their engine, as the field dictionary's are."""
    return frozenset(
        ref.name
        for cap in capabilities
        for schema in (cap.input, cap.output)
        if schema is not None
        for ref in walk(schema.type)
        if isinstance(ref, ScalarRef) and ref.typed_by.startswith("inline ")
    )


def _audit_keys(
    rule: AuditRuleSyntax,
    resolver: TypeResolver,
    inline: frozenset[str],
    diagnostics: Diagnostics,
) -> tuple[AuditKey, ...]:
    keys: list[AuditKey] = []
    for child in flatten(rule.keys):
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
        for code, qualifier in [_pinned(code, qualifier) for code, qualifier in named]:
            if not FIELD_NAME.fullmatch(code.text):
                # `TranscriptOk`, `AuditEventType::X`: an event type being mentioned, not a key
                continue
            if resolver.dictionary.lookup(code.text) is None and code.text not in inline:
                diagnostics.report(
                    Code.UNKNOWN_AUDIT_KEY,
                    code.span,
                    f"audit key {code.text!r} is not a known field",
                    "audit payload keys must be fields of the field dictionary",
                )
            # Kept even when unknown, so `ecmc init` drafts a type for it (an error stops the
            # build before anything reads the key's type).
            keys.append(AuditKey(code.text, qualifier, code.span))
    return tuple(keys)


def _pinned(code: Text, qualifier: str) -> tuple[Text, str]:
    """`owner_engine_id=PH1.X` is the key `owner_engine_id`, pinned to a value."""
    name, equals, value = code.text.partition("=")
    if not equals:
        return code, qualifier
    return Text(
        name.strip(), code.span.narrow(0, len(name))
    ), f"= {value.strip()} {qualifier}".strip()


# The noun a phrase selects by ('write capabilities', 'reads/rebuild operations').
_SUBJECT_NOUN = re.compile(r"capabilit|operation")
_SUBJECT_WORDS = re.compile(r"[a-z][a-z\-]*|/|,")
# Joiners of alternatives: 'read/guard', 'read or guard', 'read and guard' are the union.
_UNION = frozenset(("/", ",", "or", "and"))
_IGNORED = frozenset(("all", "every", "each", "any", "the", "other", "remaining", "its", "this"))
_WRITES = frozenset(("write", "writes", "writing", "mutating", "state-changing"))
_READS = frozenset(("read", "reads", "read-only", "readonly", "reading"))


def _rule_subjects(
    rule: AuditRuleSyntax, capabilities: list[Capability], diagnostics: Diagnostics
) -> list[str]:
    """The capabilities a rule speaks of: by id, else by a phrase like 'write capabilities'."""
    known = {cap.id for cap in capabilities}
    if rule.capability_ids:
        for cap_id in rule.capability_ids:
            if cap_id.text not in known:
                diagnostics.report(
                    Code.AUDIT_NAMES_NOTHING,
                    cap_id.span,
                    f"audit requirement names {cap_id.text}, which this engine does not declare",
                )
        return [c.text for c in rule.capability_ids]
    noun = _SUBJECT_NOUN.search(rule.subject.text.lower())
    if noun is None:
        diagnostics.report(
            Code.AUDIT_NAMES_NOTHING,
            rule.subject.span,
            "audit requirement names no capability; name capability ids or say which "
            "capabilities ('write capabilities ...')",
        )
        return []
    selected = _select(_phrase(rule.subject.text.lower()[: noun.start()]), capabilities)
    if not selected:
        diagnostics.report(
            Code.AUDIT_NAMES_NOTHING,
            rule.subject.span,
            "audit requirement matches no capability of this engine",
        )
    return [c.id for c in selected]


def _phrase(head: str) -> list[list[str]]:
    """The words before the noun as groups of alternatives: 'enrollment/runtime write' is
    [[enrollment, runtime], [write]], each group one condition, all of them met."""
    groups: list[list[str]] = []
    joined = False
    for word in _SUBJECT_WORDS.findall(head):
        if word in _UNION:
            joined = bool(groups)
        elif word not in _IGNORED:
            if joined:
                groups[-1].append(word)
            else:
                groups.append([word])
            joined = False
    return groups


def _select(groups: list[list[str]], capabilities: list[Capability]) -> list[Capability]:
    """Every capability that meets each group by one of its words. 'write' and 'read' select
    by side effects; any other word by the capability's group heading, id or name; a word
    that names nothing in this engine ('deterministic write capabilities') is description
    and selects nothing away, unless no word names anything."""
    selected, named = capabilities, not groups
    for group in groups:
        meaningful = [w for w in group if any(_meets(w, c) is not None for c in capabilities)]
        if meaningful:
            selected = [c for c in selected if any(_meets(w, c) for w in meaningful)]
            named = True
    # Only words that name nothing here ('wibble capabilities'): the rule speaks of no one.
    return selected if named else []


def _meets(word: str, cap: Capability) -> bool | None:
    """Whether the capability is what the word says; None where the word says nothing of it."""
    if word in _WRITES:
        return cap.writes
    if word in _READS:
        return not cap.writes
    stem = word[:-1] if len(word) > 4 and word.endswith("s") else word
    text = " ".join((cap.group or "", cap.id.replace("_", " "), cap.name or ""))
    tokens = _SUBJECT_WORDS.findall(text.lower())
    if any(t.startswith(stem) or (len(t) >= 4 and stem.startswith(t)) for t in tokens):
        return True
    return None
