"""The syntax layer: what a spec file says, as written, with spans. No resolution yet.

Extractors build these from the section tree; `resolve` lowers them into the IR.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecmc.ir import Note
from ecmc.span import Span


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Bullet:
    """One bullet item or plain line, split into `key: value` when it reads that way."""

    text: Text
    """The whole line as a reader sees it (code spans keep their backticks)."""
    key: Text | None
    value: Text | None
    """The value after the colon: the content of the code span it starts with, if it does,
    otherwise the raw source text."""
    codes: tuple[Text, ...]
    """Code spans in the value (or in the whole line when it is not `key: value`)."""
    trailing: str
    """Source text after a value's first code span, e.g. `(through runtime)`."""
    children: tuple[Bullet, ...]
    span: Span


# --- ECM specs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapabilitySyntax:
    id: Text
    group: str | None
    keys: tuple[Bullet, ...]
    span: Span
    section: str = "Capability List"
    """The `##` section the capability stands in, as written."""
    refines: str = ""
    """The heading's words after the id (`` `ID` sync receipt output ``): a later declaration
    of a capability that refines an earlier one."""

    def get(self, key: str) -> Bullet | None:
        return next((b for b in self.keys if b.key is not None and b.key.text == key), None)


@dataclass(frozen=True, slots=True)
class ReasonCodeSyntax:
    code: Text
    description: str


@dataclass(frozen=True, slots=True)
class AuditRuleSyntax:
    subject: Text
    capability_ids: tuple[Text, ...]
    keys: tuple[Bullet, ...]
    mode: str  # "required", "replay_only" or "none"
    evidence: str
    """The words in the text that made the mode other than `required`; empty if none did."""
    span: Span


@dataclass(frozen=True, slots=True)
class EngineSyntax:
    path: str
    title: str
    header: tuple[Bullet, ...]
    header_span: Span
    capabilities: tuple[CapabilitySyntax, ...]
    reason_codes: tuple[ReasonCodeSyntax, ...]
    audit_rules: tuple[AuditRuleSyntax, ...]
    sources: tuple[str, ...]
    notes: tuple[Note, ...]
    span: Span


# --- companion specs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """A headed entry of a companion section (a record, a table, a lifecycle action)."""

    name: Text
    keys: tuple[Bullet, ...]
    children: tuple[Entry, ...]
    span: Span

    def get(self, key: str) -> Bullet | None:
        return next((b for b in self.keys if b.key is not None and b.key.text == key), None)


@dataclass(frozen=True, slots=True)
class CompanionSection:
    kind: str
    """Normalised title: `fields`, `records`, `tables`, ..."""
    title: Text
    bullets: tuple[Bullet, ...]
    entries: tuple[Entry, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class CompanionSyntax:
    path: str
    title: str
    header: tuple[Bullet, ...]
    header_span: Span
    sections: tuple[CompanionSection, ...]
    notes: tuple[Note, ...]
    span: Span


SpecSyntax = EngineSyntax | CompanionSyntax
