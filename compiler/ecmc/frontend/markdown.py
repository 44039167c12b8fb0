"""Stage 2, parse: markdown-it-py tokens -> a section tree whose every node carries a span.

The tree keeps what the extractors need and nothing else: sections (from headings, or from
plain lines that read as section titles, as some ECM files are written), bullet items with
their nested items, and paragraph lines. Each line is a sequence of text and code segments,
located to the exact column in the source: markdown-it gives line numbers only, so each
segment is found on its source line in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ecmc.span import Span

_MARKDOWN = MarkdownIt("commonmark")

# Plain lines in files written without Markdown headings ("Engine Header", "Hard Rules").
_TITLE_WORD = re.compile(r"[A-Z][a-z][A-Za-z0-9\-]*|[A-Z]|\(?[A-Z][A-Za-z0-9\-]*\)?")
_TITLE_CONNECTORS = frozenset({"+", "&", "/", "-", "and", "of", "per", "the", "for", "to", "a"})
_MAX_TITLE_WORDS = 8


@dataclass(frozen=True, slots=True)
class Segment:
    kind: Literal["text", "code"]
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Line:
    """One source line of a heading, paragraph or bullet item."""

    segments: tuple[Segment, ...]
    source: str
    """The line exactly as written, from the start of its content to its end: prose reaches
    the IR as the author typed it, not as Markdown would render it."""
    span: Span

    @property
    def codes(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.kind == "code")


@dataclass(frozen=True, slots=True)
class Item:
    """A bullet (or numbered) item: its own lines and its nested items."""

    lines: tuple[Line, ...]
    children: tuple[Item, ...]
    span: Span


Block = Item | Line


@dataclass(frozen=True, slots=True)
class Section:
    title: Line
    level: int
    blocks: tuple[Block, ...]
    children: tuple[Section, ...]
    span: Span

    def walk(self) -> list[Section]:
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found


@dataclass(frozen=True, slots=True)
class Document:
    path: str
    title: Line | None
    preamble: tuple[Block, ...]
    sections: tuple[Section, ...]

    def walk(self) -> list[Section]:
        found: list[Section] = []
        for section in self.sections:
            found.extend(section.walk())
        return found


def is_title_line(text: str) -> bool:
    """Whether a plain line reads as a section title: short, Title Case, no sentence punctuation."""
    stripped = text.strip()
    if not stripped or stripped[-1] in ".,:;" or ":" in stripped or "_" in stripped:
        return False
    words = stripped.split()
    if len(words) > _MAX_TITLE_WORDS:
        return False
    has_lower = any(c.islower() for c in stripped)
    titled = all(w in _TITLE_CONNECTORS or _TITLE_WORD.fullmatch(w) for w in words)
    return titled and has_lower


def parse_document(path: str, text: str) -> Document:
    lines = text.split("\n")
    tokens = _MARKDOWN.parse(text)
    events = _Builder(path, lines, tokens).blocks()
    return _sectionise(path, events)


# --- token stream -> flat events ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Heading:
    level: int
    line: Line


_Event = _Heading | Item | Line


class _Builder:
    def __init__(self, path: str, lines: list[str], tokens: list[Token]) -> None:
        self.path = path
        self.lines = lines
        self.tokens = tokens
        self.pos = 0

    def blocks(self) -> list[_Event]:
        events: list[_Event] = []
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            if token.type == "heading_open":
                inline = self.tokens[self.pos + 1]
                self.pos += 3
                heading_lines = self._inline_lines(inline)
                if heading_lines:
                    events.append(_Heading(int(token.tag[1:]), heading_lines[0]))
            elif token.type in ("bullet_list_open", "ordered_list_open"):
                events.extend(self._list())
            elif token.type == "inline":
                events.extend(self._inline_lines(token))
                self.pos += 1
            elif token.type in ("fence", "code_block", "html_block"):
                events.extend(self._verbatim_lines(token))
                self.pos += 1
            else:
                self.pos += 1
        return events

    def _list(self) -> list[Item]:
        close = self.tokens[self.pos].type.replace("_open", "_close")
        self.pos += 1
        items: list[Item] = []
        while self.pos < len(self.tokens) and self.tokens[self.pos].type != close:
            if self.tokens[self.pos].type == "list_item_open":
                items.append(self._item())
            else:
                self.pos += 1
        self.pos += 1
        return items

    def _item(self) -> Item:
        opening = self.tokens[self.pos]
        self.pos += 1
        own: list[Line] = []
        children: list[Item] = []
        while self.pos < len(self.tokens) and self.tokens[self.pos].type != "list_item_close":
            token = self.tokens[self.pos]
            if token.type in ("bullet_list_open", "ordered_list_open"):
                children.extend(self._list())
            elif token.type == "inline":
                own.extend(self._inline_lines(token))
                self.pos += 1
            elif token.type in ("fence", "code_block", "html_block"):
                own.extend(self._verbatim_lines(token))
                self.pos += 1
            else:
                self.pos += 1
        self.pos += 1
        start, end = opening.map or (0, 1)
        span = Span(self.path, start + 1, 1, max(end, start + 1), len(self.lines[end - 1]) + 1)
        if own:
            span = Span(self.path, own[0].span.line, own[0].span.col, span.end_line, span.end_col)
        return Item(tuple(own), tuple(children), span)

    def _verbatim_lines(self, token: Token) -> list[Line]:
        start, end = token.map or (0, 0)
        out = []
        for number in range(start, end):
            raw = self.lines[number]
            body = raw.strip()
            if not body:
                continue
            col = raw.index(body) + 1
            span = Span(self.path, number + 1, col, number + 1, col + len(body))
            out.append(Line((Segment("text", body, span),), body, span))
        return out

    def _inline_lines(self, inline: Token) -> list[Line]:
        start = (inline.map or (0, 1))[0]
        groups: list[list[Token]] = [[]]
        for child in inline.children or []:
            if child.type in ("softbreak", "hardbreak"):
                groups.append([])
            else:
                groups[-1].append(child)
        out = []
        for offset, group in enumerate(groups):
            number = start + offset
            if number >= len(self.lines):
                break
            line = self._locate(number, group)
            if line is not None:
                out.append(line)
        return out

    def _locate(self, number: int, children: list[Token]) -> Line | None:
        """Find each child's text on its source line, left to right, to give it a column."""
        raw = self.lines[number]
        cursor = len(raw) - len(raw.lstrip())
        segments: list[Segment] = []
        for child in children:
            if child.type == "code_inline":
                found = raw.find(child.content, cursor)
                if found < 0:
                    found = cursor + len(child.markup)
                width = len(child.content)
                segments.append(
                    Segment(
                        "code", child.content, Span.point(self.path, number + 1, found + 1, width)
                    )
                )
                cursor = found + width + len(child.markup)
                continue
            text = child.content if child.type != "image" else ""
            if not text:
                continue
            found = raw.find(text, cursor)
            if found < 0:
                found = cursor
            span = Span.point(self.path, number + 1, found + 1, len(text))
            if segments and segments[-1].kind == "text":
                previous = segments[-1]
                merged = Span(self.path, number + 1, previous.span.col, number + 1, span.end_col)
                segments[-1] = Segment("text", previous.text + text, merged)
            else:
                segments.append(Segment("text", text, span))
            cursor = max(cursor, found + len(text))
        if not segments:
            return None
        # The line's text starts where its content does: before any markup that precedes the
        # first segment (backticks, `*`, `[`), after the list marker or heading hashes.
        first = segments[0].span.col
        while first > 1 and not raw[first - 2].isspace():
            first -= 1
        source = raw[first - 1 :].rstrip()
        span = Span(self.path, number + 1, first, number + 1, first + max(len(source), 1))
        return Line(tuple(segments), source, span)


# --- flat events -> section tree ------------------------------------------------------------


@dataclass
class _OpenSection:
    title: Line
    level: int
    blocks: list[Block]
    children: list[_OpenSection]
    last_line: int
    last_col: int

    def close(self, path: str) -> Section:
        span = Span(path, self.title.span.line, self.title.span.col, self.last_line, self.last_col)
        children = tuple(child.close(path) for child in self.children)
        return Section(self.title, self.level, tuple(self.blocks), children, span)


def _sectionise(path: str, events: list[_Event]) -> Document:
    title: Line | None = None
    preamble: list[Block] = []
    roots: list[_OpenSection] = []
    stack: list[_OpenSection] = []
    has_h1 = any(isinstance(e, _Heading) and e.level == 1 for e in events)

    def open_section(level: int, line: Line) -> None:
        section = _OpenSection(line, level, [], [], line.span.line, line.span.end_col)
        while stack and stack[-1].level >= level:
            stack.pop()
        (stack[-1].children if stack else roots).append(section)
        stack.append(section)

    for event in events:
        if isinstance(event, _Heading):
            if event.level == 1 and title is None:
                title = event.line
                continue
            open_section(event.level, event.line)
            continue
        if isinstance(event, Line) and not stack and title is None and not has_h1:
            title = event
            continue
        if isinstance(event, Line) and is_title_line(event.source):
            open_section(2, event)
            continue
        if stack:
            stack[-1].blocks.append(event)
            end = event.span
            for open_section_ in stack:
                open_section_.last_line, open_section_.last_col = end.end_line, end.end_col
        else:
            preamble.append(event)
    return Document(path, title, tuple(preamble), tuple(root.close(path) for root in roots))
