"""Drafted companion specs as named entries per section, rendered to Markdown, and merged into
a file a person may have edited since (`ecmc init --update`): only entries whose name the file
does not hold yet are added; nothing already there is touched.

An entry is a `### `name`` block (tables, records, bindings) or a `- `name`: ...` bullet
(fields, policies, roles), always written with its name in backticks first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_HEADING = re.compile(r"^(#{2,3}) +(.*?)\s*$")
_ENTRY_NAME = re.compile(r"^(?:### +|- +)`([^`]+)`")


@dataclass
class Document:
    """A companion spec: its title, header bullets, then sections of named entries."""

    title: str
    header: list[str]
    sections: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, section: str, name: str, entry: str) -> bool:
        """Add an entry unless one of that name is there; True when added."""
        entries = self.sections.setdefault(section, {})
        if name in entries:
            return False
        entries[name] = entry.rstrip("\n")
        return True

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", "## Spec Header", *self.header]
        for section, entries in self.sections.items():
            if entries:
                blocks = _separated(entries.values())
                lines += ["", f"## {section}", "", *blocks]
        return "\n".join(lines) + "\n"


def _separated(entries: Iterable[str]) -> list[str]:
    """Blocks separated by blank lines; consecutive bullets kept together as one list."""
    out: list[str] = []
    for text in entries:
        if out and (text.startswith("### ") or out[-1].startswith("### ") or "\n" in out[-1]):
            out.append("")
        out.append(text)
    return out


def entry_names(text: str) -> dict[str, set[str]]:
    """Section title (lower case) -> the entry names a Markdown companion spec holds: its
    `### ` headings, or in a section without any, its top-level bullets."""
    headings: dict[str, set[str]] = {}
    bullets: dict[str, set[str]] = {}
    current = ""
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 2:
            current = heading.group(2).strip().lower()
            continue
        entry = _ENTRY_NAME.match(line)
        if entry and current:
            found = headings if line.startswith("###") else bullets
            found.setdefault(current, set()).add(entry.group(1))
    return {s: headings.get(s) or bullets.get(s, set()) for s in {*headings, *bullets}}


def merge(existing: str, draft: Document) -> tuple[str, list[str]]:
    """`existing` with the draft's entries it lacks appended to their sections (a section it
    lacks appended at the end); the text is otherwise unchanged. Also returns what was added,
    as `section: name`."""
    held = entry_names(existing)
    lines = existing.rstrip("\n").split("\n")
    added: list[str] = []
    for section, entries in draft.sections.items():
        new = {n: e for n, e in entries.items() if n not in held.get(section.lower(), set())}
        if not new:
            continue
        added += [f"{section}: {name}" for name in new]
        block = _separated(new.values())
        end = _section_end(lines, section)
        if end is None:
            lines += ["", f"## {section}", "", *block]
        else:
            lines[end:end] = ["", *block]
    return "\n".join(lines) + "\n", added


def _section_end(lines: list[str], section: str) -> int | None:
    """The index after the last non-blank line of the `## section`, or None."""
    start = None
    for index, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 2:
            if start is not None:
                break
            if heading.group(2).strip().lower() == section.lower():
                start = index
    if start is None:
        return None
    end = start + 1
    for index in range(start + 1, len(lines)):
        heading = _HEADING.match(lines[index])
        if heading and len(heading.group(1)) == 2:
            break
        if lines[index].strip():
            end = index + 1
    return end
