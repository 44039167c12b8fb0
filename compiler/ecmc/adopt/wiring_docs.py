"""DB wiring documents in, the evidence they give per table and per write out.

A team's DB wiring document (`docs/DB_WIRING/X.md`, cited in an ECM file's Sources) says
what the ECM file does not: each owned table's truth type ("append-only ledger"), its keys,
how retried writes are deduplicated, which tables each write touches with which fixed values,
and the acceptance tests the wiring must pass. They are prose for people, in several shapes;
this module reads the shapes real documents use and keeps where each fact was read, so every
draft built on one cites its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ecm_contract import TruthType

_HEADING = re.compile(r"^(#{1,4})\s+(.*?)\s*$")
_ENGINE = re.compile(r"^\s*-\s*`engine_id`\s*:\s*`([^`]+)`")
_CODE = re.compile(r"`([^`]+)`")
_TABLE_NAME = re.compile(r"(?:[a-z_][a-z0-9_]*\.)?([a-z_][a-z0-9_]*)")
_STATE_GROUP = r"[A-Z][A-Z0-9_]*(?:\s*\|\s*[A-Z][A-Z0-9_]*)*"
_ARROW = re.compile(r"\s*(?:->|→)\s*")
_CHAIN = re.compile(rf"{_STATE_GROUP}(?:\s*(?:->|→)\s*{_STATE_GROUP})+")
_EVENT_TYPE = re.compile(r"[A-Z][A-Za-z0-9_]*")
_NUMBERING = re.compile(r"^\s*\d+[a-z]?[).]\s*")
_OWNED_ITEM = re.compile(r"^- `([^`]+)`\s*\((.*)\)\s*$")
"""`- `os_core.work_order_ledger` (`LEDGER`)`: a table and its truth type, in one item."""
_TRUTH_WORD = re.compile(r"\b(LEDGER|CURRENT|CACHE)\b")
_KEY_LIST = re.compile(r"\(([^()`]+)\)|^([a-z_][a-z0-9_]*)$")
_PIN = re.compile(r"^([a-z_][a-z0-9_]*)=([A-Za-z0-9_.:-]+)$")
_TEST_ID = re.compile(r"^AT-[A-Z0-9][A-Z0-9_-]*$")
_FUNCTION = re.compile(r"^[a-z_][a-z0-9_]*$")
_TITLE_TAIL = re.compile(r"(?:\s|:|->|→|—|=>|\(\s*\))+$")
"""What is left of a title once its test function is taken out: `title: `, `title ()`."""
_TRAILING_FUNCTION = re.compile(r"(?::|->|→|—|=>)\s*`([a-z_][a-z0-9_]*)`\s*\)?\s*$")
_APPEND_ONLY = re.compile(r"append[- ]only|no (?:in-place )?(?:update|mutation)", re.I)
_REBUILT_FROM = re.compile(r"rebuil(?:t|dable) from `([^`]+)`", re.I)
_DEDUPE = re.compile(r"dedupe|idempoten", re.I)


@dataclass(frozen=True, slots=True)
class Cited:
    """Where a fact was read: a document's display path and a 1-based line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class TableEvidence:
    name: str
    at: Cited
    truth_types: tuple[TruthType, ...] = ()
    """Every truth type the document names for the table (more than one is ambiguous)."""
    append_only: Cited | None = None
    projection_of: str | None = None
    idempotency_keys: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WriteEvidence:
    """One write path of section "Writes": its heading, the tables it names, fixed values."""

    title: str
    at: Cited
    tables: tuple[str, ...]
    pins: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class AcceptanceTest:
    test_id: str
    title: str
    function: str | None
    at: Cited


@dataclass(frozen=True, slots=True)
class StateChain:
    """`DRAFT -> PENDING -> APPROVED|REJECTED`: states in order, alternatives grouped."""

    groups: tuple[tuple[str, ...], ...]
    at: Cited


def state_chains(line: str, at: Cited) -> list[StateChain]:
    """The chains of states a line of text writes out (three states or more)."""
    found = []
    for match in _CHAIN.finditer(line):
        groups = tuple(
            tuple(s.strip() for s in group.split("|")) for group in _ARROW.split(match.group(0))
        )
        if sum(len(g) for g in groups) >= 3:
            found.append(StateChain(groups, at))
    return found


@dataclass
class WiringDocument:
    path: str
    engine_id: str | None = None
    tables: dict[str, TableEvidence] = field(default_factory=dict)
    writes: list[WriteEvidence] = field(default_factory=list)
    tests: list[AcceptanceTest] = field(default_factory=list)
    chains: list[StateChain] = field(default_factory=list)
    event_types: list[tuple[str, Cited]] = field(default_factory=list)
    """Audit event types its writes list (`- event_type:` over `` `A | B | ...` ``)."""
    titled: bool = False
    """Whether its title calls it a DB wiring document (an ECM file names an engine too)."""


def read_wiring_document(text: str, path: str) -> WiringDocument:
    """The evidence one DB wiring document gives, each fact with its line."""
    reader = _Reader(WiringDocument(path), text.splitlines())
    for number, line in enumerate(reader.lines, 1):
        reader.line(number, line)
    reader.close_block()
    return reader.document


class _Reader:
    """One pass over a document: the section and block a line stands in decide what it says."""

    def __init__(self, document: WiringDocument, lines: list[str]) -> None:
        self.document, self.lines = document, lines
        self.section, self.block, self.block_at = "", "", 0
        self.block_lines: list[str] = []
        self.listing_events = False
        """The line before said `event_type:`: this one lists the types."""
        self.item: TableEvidence | None = None
        """The table of the last `- `table` (`TYPE`)` item, which its sub-items speak of."""

    def line(self, number: int, line: str) -> None:
        at = Cited(self.document.path, number)
        heading = _HEADING.match(line)
        if heading:
            self.close_block()
            level, title = len(heading.group(1)), heading.group(2)
            if level == 1 and "wiring" in title.lower():
                self.document.titled = True
            if level <= 2:
                self.section = _section_kind(title)
            self.block, self.block_at, self.block_lines, self.item = title, number, [], None
            if self.section == "owned" and level == 3:
                self.table_heading(title, at)
            return
        self.block_lines.append(line)
        self.event_type_line(line, at)
        engine = _ENGINE.match(line)
        if engine and self.document.engine_id is None:
            self.document.engine_id = engine.group(1)
        if self.section == "owned":
            self.owned_line(line, at)
        elif self.section == "tests":
            self.test_line(number, line)
        self.anywhere(line, at)
        self.document.chains += state_chains(line, at)

    def event_type_line(self, line: str, at: Cited) -> None:
        listing, self.listing_events = self.listing_events, False
        if line.strip().lower().endswith("event_type:"):
            self.listing_events = True
        elif listing:
            for code in _CODE.findall(line):
                names = [n.strip() for n in code.split("|")]
                self.document.event_types += [(n, at) for n in names if _EVENT_TYPE.fullmatch(n)]

    def table_heading(self, title: str, at: Cited) -> None:
        codes = _CODE.findall(title)
        name = _table_name(codes[0]) if len(codes) == 1 else None
        if name is not None:
            self.item = self.document.tables.setdefault(name, TableEvidence(name, at))

    def owned_line(self, line: str, at: Cited) -> None:
        """A line of "Data Owned": under a `### table` heading, or a `- `table` (`LEDGER`)`
        item and its sub-items."""
        stripped = line.strip()
        codes = _CODE.findall(stripped)
        item = _OWNED_ITEM.match(line)
        if item and (name := _table_name(item.group(1))):
            self.item = self.document.tables.setdefault(name, TableEvidence(name, at))
            self.item.truth_types = _truth_types(" ".join(_CODE.findall(item.group(2))))
            if _APPEND_ONLY.search(item.group(2)):
                self.item.append_only = at
            rebuilt = _REBUILT_FROM.search(item.group(2))
            if rebuilt and (source := _table_name(rebuilt.group(1))):
                self.item.projection_of = source
            return
        current = self.item
        if current is None:
            return
        key = stripped.lstrip("- ").split(":", 1)[0].strip("` ").lower().replace(" ", "_")
        if key == "truth_type" and ":" in stripped:
            current.truth_types = _truth_types(stripped.split(":", 1)[1])
        elif "idempotency" in key or (_DEDUPE.search(stripped) and "key" in stripped.lower()):
            current.idempotency_keys += _key_lists(codes)
        if _APPEND_ONLY.search(stripped) and current.append_only is None:
            current.append_only = at
        rebuilt = _REBUILT_FROM.search(stripped)
        if rebuilt and (source := _table_name(rebuilt.group(1))):
            current.projection_of = source

    def anywhere(self, line: str, at: Cited) -> None:
        """Facts stated anywhere: "`x` is append-only"."""
        if not _APPEND_ONLY.search(line):
            return
        for code in _CODE.findall(line):
            name = _table_name(code)
            if name is not None and name in self.document.tables:
                evidence = self.document.tables[name]
                evidence.append_only = evidence.append_only or at

    def close_block(self) -> None:
        """A finished block of section "Writes": the tables its `writes:` lines name, and the
        fixed values (`x=Y`) it states."""
        if self.section != "writes" or not self.block:
            return
        tables: list[str] = []
        pins: list[tuple[str, str]] = []
        for line in self.block_lines:
            codes = _CODE.findall(line)
            if line.strip().lstrip("- ").lower().startswith("writes"):
                tables += [n for c in codes if (n := _table_name(c)) is not None]
            pins += [(m.group(1), m.group(2)) for c in codes if (m := _PIN.match(c.strip()))]
        if tables:
            at = Cited(self.document.path, self.block_at)
            self.document.writes.append(
                WriteEvidence(self.block, at, tuple(dict.fromkeys(tables)), tuple(pins))
            )

    def test_line(self, number: int, line: str) -> None:
        """`- `AT-X-01` title`, and its test function: named on the same line
        (`- `AT-X-01` title: `fn``) or on the sub-item below."""
        stripped = line.strip()
        codes = _CODE.findall(stripped)
        if not stripped.startswith("- `") or not codes or not _TEST_ID.match(codes[0]):
            return
        function = _inline_function(stripped, codes[1:])
        title = stripped.split("`", 2)[2]
        if function is not None:
            title = _TITLE_TAIL.sub("", " ".join(title.replace(f"`{function}`", "").split()))
        title = title.strip(" :-")
        if function is None and number < len(self.lines):
            below = self.lines[number].strip()
            names = _CODE.findall(below)
            if below.startswith("- `") and len(names) == 1 and _FUNCTION.match(names[0]):
                function = names[0]
        at = Cited(self.document.path, number)
        tests = self.document.tests
        known = next((i for i, t in enumerate(tests) if t.test_id == codes[0]), None)
        if known is None:
            tests.append(AcceptanceTest(codes[0], title, function, at))
        elif tests[known].function is None and function is not None:
            tests[known] = AcceptanceTest(codes[0], title, function, at)


def _inline_function(line: str, codes: list[str]) -> str | None:
    """The test function named on the test's own line: the code span the line ends on after
    a colon or arrow, or one named like a test (`at_...`, `test_...`). A table named in the
    title (`conversation_ledger`) is neither."""
    trailing = _TRAILING_FUNCTION.search(line)
    if trailing:
        return trailing.group(1)
    named = [c for c in codes if _FUNCTION.match(c) and c.startswith(("at_", "test_"))]
    return named[0] if len(named) == 1 else None


def _section_kind(title: str) -> str:
    words = _NUMBERING.sub("", title.lower())
    if "data owned" in words:
        return "owned"
    if words.startswith("writes"):
        return "writes"
    if "acceptance test" in words:
        return "tests"
    return ""


def _table_name(code: str) -> str | None:
    match = _TABLE_NAME.fullmatch(code.strip())
    return match.group(1) if match else None


def _truth_types(text: str) -> tuple[TruthType, ...]:
    return tuple(dict.fromkeys(TruthType(w) for w in _TRUTH_WORD.findall(text.upper())))


def _key_lists(codes: Iterable[str]) -> list[tuple[str, ...]]:
    keys = []
    for code in codes:
        match = _KEY_LIST.search(code.strip())
        if match:
            names = (match.group(1) or match.group(2)).split(",")
            keys.append(tuple(n.strip() for n in names if n.strip()))
    return keys


def read_wiring_documents(files: Mapping[str, str]) -> dict[str, WiringDocument]:
    """Engine id -> its wiring document, for every DB wiring document (display path -> text)
    that names its engine; documents for one engine are merged in path order."""
    found: dict[str, WiringDocument] = {}
    for path in sorted(files):
        document = read_wiring_document(files[path], path)
        if document.engine_id is None or not (document.titled or document.tables):
            continue
        held = found.setdefault(document.engine_id, WiringDocument(path, document.engine_id))
        for name, table in document.tables.items():
            held.tables.setdefault(name, table)
        held.writes += document.writes
        held.tests += document.tests
        held.chains += document.chains
        held.event_types += document.event_types
    return found


def cited_documents(ecm: Mapping[str, str], roots: Iterable[Path]) -> list[tuple[Path, str]]:
    """The wiring documents ECM files cite in backticks (`docs/DB_WIRING/X.md`) that exist
    under one of the roots (the ECM folder and its parents, a team's repository), at the
    cited path or a shorter tail of it (`DB_WIRING/X.md` beside the ECM folder); each with
    the tail it was found by, the name it is shown by."""
    found: dict[Path, str] = {}
    for text in ecm.values():
        for code in _CODE.findall(text):
            parts = PurePosixPath(code).parts
            if "DB_WIRING" not in code or not code.endswith(".md") or ".." in parts:
                continue
            tails = [PurePosixPath(*parts[i:]) for i in range(len(parts) - 1)]
            candidates = ((root / tail, tail) for tail in tails for root in roots)
            hit = next((c for c in candidates if c[0].is_file()), None)
            if hit is not None:
                found.setdefault(hit[0], hit[1].as_posix())
    return list(found.items())


def table_evidence(documents: Mapping[str, WiringDocument]) -> dict[str, TableEvidence]:
    """Table name -> what the documents say of it: the first document (by engine id) that
    names its truth type, so a table every engine lists reads the same everywhere."""
    found: dict[str, TableEvidence] = {}
    for engine_id in sorted(documents):
        for name, evidence in documents[engine_id].tables.items():
            held = found.get(name)
            if held is None or (not held.truth_types and evidence.truth_types):
                found[name] = evidence
    return found
