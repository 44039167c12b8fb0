"""Stage 3, extract: section tree -> syntax of an ECM spec or of a companion spec.

An ECM spec has an `Engine Header` section; a companion spec has a `Spec Header` section.
Section titles are matched after normalisation, so `## Engine Header`, `# engine header` and a
bare `Engine Header` line are the same. Sections with no known structure are kept as notes.
"""

from __future__ import annotations

import dataclasses
import re

from ecm_contract.invariants import present

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.bullets import bullets_of, line_text, section_bullets
from ecmc.frontend.failure_modes import declared_codes
from ecmc.frontend.markdown import Document, Line, Section
from ecmc.frontend.syntax import (
    AuditRuleSyntax,
    Bullet,
    CapabilitySyntax,
    CompanionSection,
    CompanionSyntax,
    EngineSyntax,
    Entry,
    ReasonCodeSyntax,
    SpecSyntax,
    Text,
)
from ecmc.ir import Note
from ecmc.span import Span

CAPABILITY_ID = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")

ENGINE_HEADER = "engine header"
SPEC_HEADER = "spec header"
COMPANION_SECTIONS = {
    "naming conventions": "conventions",
    "type aliases": "aliases",
    "fields": "fields",
    "caller classes": "caller_classes",
    "caller policies": "caller_policies",
    "records": "records",
    "tables": "tables",
    "lifecycles": "lifecycles",
    "capability bindings": "capability_bindings",
    "schemas": "schemas",
    "reason codes": "reason_codes",
    "reason code roles": "reason_code_roles",
    "tool path": "tool_path",
    "audit event types": "audit_event_types",
}


def normalise_title(text: str) -> str:
    return " ".join(text.replace("`", "").strip().rstrip(":.").lower().split())


def extract(document: Document, diagnostics: Diagnostics) -> SpecSyntax | None:
    sections = document.walk()
    engine_header = _find(sections, ENGINE_HEADER)
    spec_header = _find(sections, SPEC_HEADER)
    start = Span.point(document.path, 1, 1)
    if engine_header is None and spec_header is None:
        diagnostics.report(
            Code.NOT_A_SPEC,
            document.title.span if document.title else start,
            "not an ECM spec: found neither an 'Engine Header' nor a 'Spec Header' section",
            "an ECM spec starts with '## Engine Header' and a bullet '`engine_id`: `NAME`'",
        )
        return None
    if engine_header is not None and spec_header is not None:
        diagnostics.report(
            Code.NOT_A_SPEC,
            spec_header.title.span,
            "a spec has either an 'Engine Header' (ECM spec) or a 'Spec Header' (companion "
            "spec), not both",
        )
        return None
    if engine_header is not None:
        return _extract_engine(document, sections, engine_header, diagnostics)
    header = present(spec_header, "a companion spec's header")
    return _extract_companion(document, header, diagnostics)


def _find(sections: list[Section], title: str) -> Section | None:
    return next((s for s in sections if normalise_title(s.title.source) == title), None)


def _document_span(document: Document) -> Span:
    return document.title.span if document.title else Span.point(document.path, 1, 1)


def _note(section: Section, skip: set[int] | None = None) -> Note:
    lines: list[str] = []

    def add(bullet: Bullet, depth: int) -> None:
        lines.append("  " * depth + bullet.text.text)
        for child in bullet.children:
            add(child, depth + 1)

    for bullet in section_bullets(section):
        add(bullet, 0)
    for child in section.children:
        if skip and id(child) in skip:
            continue
        lines.append(child.title.source.strip())
        lines.extend(_note(child, skip).lines)
    return Note(section.title.source.strip(), tuple(lines), section.span)


# --- ECM ------------------------------------------------------------------------------------


def _extract_engine(
    document: Document, sections: list[Section], header: Section, diagnostics: Diagnostics
) -> EngineSyntax:
    capability_list = _find(sections, "capability list")
    capabilities: list[CapabilitySyntax] = []
    tried = any("capabilit" in normalise_title(s.title.source) for s in sections)
    if capability_list is None and tried:
        # A section about capabilities that is not the list: they are there, unreadable.
        # (An engine that documents none at all is only reported as such, ECM041.)
        diagnostics.report(
            Code.MISSING_SECTION,
            header.title.span,
            "ECM spec has no 'Capability List' section",
            "list capabilities under '## Capability List' as '### `CAPABILITY_ID`' headings",
        )
    elif capability_list is not None:
        top = capability_list.title.source.strip()
        _collect_capabilities(capability_list, None, capabilities, diagnostics, top)

    reason_codes: list[ReasonCodeSyntax] = []
    audit_rules: list[AuditRuleSyntax] = []
    sources: list[str] = []
    notes: list[Note] = []
    consumed = {id(header)}
    if capability_list is not None:
        consumed.update(id(s) for s in capability_list.walk())
    for section in sections:
        if id(section) in consumed:
            continue
        title = normalise_title(section.title.source)
        if "reason code" in title or "failure mode" in title:
            reason_codes.extend(declared_codes(section_bullets(section), "", diagnostics))
            notes.append(_note(section))
        elif title.startswith("audit emission"):
            audit_rules.extend(_audit_rule(b) for b in section_bullets(section))
        elif title == "sources":
            sources.extend(b.text.text for b in section_bullets(section))
        else:
            _other_section(section, capabilities, notes)
            consumed.update(id(s) for s in section.walk())

    title = document.title.source.strip() if document.title else ""
    return EngineSyntax(
        document.path,
        title,
        section_bullets(header),
        header.title.span,
        tuple(capabilities),
        tuple(reason_codes),
        tuple(audit_rules),
        tuple(sources),
        tuple(notes),
        _document_span(document),
    )


def _other_section(
    section: Section, capabilities: list[CapabilitySyntax], notes: list[Note]
) -> None:
    """A capability is a capability wherever it stands; the rest of the section is a note,
    which takes its other subsections with it."""
    itself = _as_capability(section, section.title.source.strip())
    if itself is not None:  # a capability heading at the top level of the file
        capabilities.append(itself)
        return
    found = _capabilities_within(section)
    capabilities.extend(found)
    taken = {id(s) for c in found for s in _sections_at(section, c.span)}
    if section_bullets(section) or len(taken) < len(section.walk()) - 1:
        notes.append(_note(section, skip=taken))


CAPABILITY_KEYS_SEEN = frozenset(
    {"name", "input_schema", "output_schema", "allowed_callers", "side_effects"}
)
"""Keys that make a heading outside the Capability List a capability."""


def _capabilities_within(section: Section, top: str = "") -> list[CapabilitySyntax]:
    """Capability headings in a section other than the Capability List: an id heading whose
    bullets hold at least one capability key, at any depth."""
    top = top or section.title.source.strip()
    found: list[CapabilitySyntax] = []
    for child in section.children:
        capability = _as_capability(child, top)
        if capability is not None:
            found.append(capability)
        else:
            found.extend(_capabilities_within(child, top))
    return found


def _as_capability(section: Section, within: str) -> CapabilitySyntax | None:
    """The section as a capability, when its heading is an id and its bullets hold at least
    one capability key."""
    heading = _capability_heading(section.title)
    keys = section_bullets(section)
    if heading is None or not any(
        b.key is not None and b.key.text in CAPABILITY_KEYS_SEEN for b in keys
    ):
        return None
    capability_id, refines = heading
    return CapabilitySyntax(capability_id, None, keys, section.span, within, refines)


def _sections_at(section: Section, span: Span) -> list[Section]:
    return [s for s in section.walk() if s.span == span]


def _capability_heading(title: Line) -> tuple[Text, str] | None:
    """A capability id heading, and the words after the id when it is `` `ID` words ``."""
    capability_id = _capability_id(title)
    if capability_id is not None:
        return capability_id, ""
    codes, plain = title.codes, title.source.strip()
    if codes and CAPABILITY_ID.fullmatch(codes[0].text) and plain.startswith(f"`{codes[0].text}`"):
        rest = plain[len(codes[0].text) + 2 :].strip()
        return Text(codes[0].text, codes[0].span), rest
    return None


def _capability_id(title: Line) -> Text | None:
    """A capability heading: `` `ID` ``, `capability_id: ID`, or a bare `ID`."""
    codes = title.codes
    plain = title.source.strip()
    if len(codes) == 1 and plain == f"`{codes[0].text}`":
        return Text(codes[0].text.strip(), codes[0].span)
    key, _, rest = plain.partition(":")
    if rest and key.strip().lower() in ("capability_id", "capability", "id"):
        value = rest.strip().strip("`").strip()
        offset = title.source.find(value, len(key) + 1)
        return Text(value, title.span.narrow(max(offset, 0), len(value)))
    if CAPABILITY_ID.fullmatch(plain):
        return Text(plain, title.span)
    return None


def _collect_capabilities(
    section: Section,
    group: str | None,
    out: list[CapabilitySyntax],
    diagnostics: Diagnostics,
    top: str,
) -> None:
    for bullet in section_bullets(section):
        diagnostics.report(
            Code.UNREADABLE_LINE,
            bullet.span,
            f"text directly under '{section.title.source.strip()}' is not part of a capability",
            "capabilities are headings ('### `ID`') followed by '`key`: value' bullets",
        )
    for child in section.children:
        heading = _capability_heading(child.title)
        if heading is None:
            _collect_capabilities(child, child.title.source.strip(), out, diagnostics, top)
            continue
        capability_id, refines = heading
        keys = section_bullets(child)
        for bullet in keys:
            if bullet.key is None:
                diagnostics.report(
                    Code.UNREADABLE_LINE,
                    bullet.span,
                    f"capability {capability_id.text}: expected '`key`: value', "
                    f"found {bullet.text.text[:60]!r}",
                )
        out.append(
            CapabilitySyntax(capability_id, group, keys, child.span, "Capability List", refines)
        )
        for nested in child.children:
            _collect_capabilities(nested, nested.title.source.strip(), out, diagnostics, top)


# A heuristic over prose (real ECM files state audit modes in words): the first phrase found
# decides. It is reported wherever it decides (ECM067); what the runtime audits comes from the
# wiring's explicit `event_type`, never from these words.
_AUDIT_MODE_WORDS = (
    ("none", ("not emit", "no audit", "emit nothing")),
    ("replay_only", ("only in", "replay", "diagnostic")),
)


def _audit_rule(bullet: Bullet) -> AuditRuleSyntax:
    # `CAP_ID`: required; keys ...: the capability is the bullet's key, not in its value.
    named = (bullet.key, *bullet.codes) if bullet.key is not None else bullet.codes
    ids = tuple(c for c in named if CAPABILITY_ID.fullmatch(c.text))
    lowered = bullet.text.text.lower()
    keys = bullet.children
    if not keys and "key" in lowered:
        # `CAP_ID`: required; keys `a`, `b`: the keys stand on the rule's own line.
        inline = tuple(c for c in bullet.codes if c not in ids)
        keys = (dataclasses.replace(bullet, key=None, value=None, codes=inline),)
    for mode, phrases in _AUDIT_MODE_WORDS:
        found = next((p for p in phrases if p in lowered), None)
        if found is not None:
            return AuditRuleSyntax(bullet.text, ids, keys, mode, found, bullet.span)
    return AuditRuleSyntax(bullet.text, ids, keys, "required", "", bullet.span)


# --- companion specs ------------------------------------------------------------------------


def _extract_companion(
    document: Document, header: Section, diagnostics: Diagnostics
) -> CompanionSyntax:
    sections: list[CompanionSection] = []
    notes: list[Note] = []
    for section in _top_sections(document, header):
        kind = COMPANION_SECTIONS.get(normalise_title(section.title.source))
        if kind is None:
            notes.append(_note(section))
            continue
        entries = tuple(_entry(child) for child in section.children)
        sections.append(
            CompanionSection(
                kind, line_text(section.title), section_bullets(section), entries, section.span
            )
        )
    title = document.title.source.strip() if document.title else ""
    return CompanionSyntax(
        document.path,
        title,
        section_bullets(header),
        header.title.span,
        tuple(sections),
        tuple(notes),
        _document_span(document),
    )


def _top_sections(document: Document, header: Section) -> list[Section]:
    """Sections at the level of the header, wherever the header sits in the tree."""
    if header in document.sections:
        return [s for s in document.sections if s is not header]
    for root in document.sections:
        if header in root.children:
            return [s for s in root.children if s is not header]
    return []


def _entry(section: Section) -> Entry:
    codes = section.title.codes
    name = Text(codes[0].text, codes[0].span) if codes else line_text(section.title)
    return Entry(
        name,
        bullets_of(section.blocks),
        tuple(_entry(child) for child in section.children),
        section.span,
    )
