"""Section-tree blocks -> `Bullet`s: `key: value` splitting that works with or without backticks.

Seeds write `` `key`: `value` ``; other ECM files write `key: value` as bullets or as bare lines.
Both become the same `Bullet`, with spans pointing at the key and at the value.
"""

from __future__ import annotations

import re

from ecmc.frontend.markdown import Block, Item, Line, Section
from ecmc.frontend.syntax import Bullet, Text

_PLAIN_KEY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*:(?!:)")


def bullets_of(blocks: tuple[Block, ...]) -> tuple[Bullet, ...]:
    out: list[Bullet] = []
    for block in blocks:
        if isinstance(block, Item):
            out.append(_item_bullet(block))
        else:
            out.append(line_bullet(block, ()))
    return tuple(out)


def section_bullets(section: Section) -> tuple[Bullet, ...]:
    return bullets_of(section.blocks)


def line_text(line: Line) -> Text:
    return Text(line.source.strip(), line.span)


def _item_bullet(item: Item) -> Bullet:
    children = tuple(_item_bullet(child) for child in item.children)
    if not item.lines:
        return Bullet(Text("", item.span), None, None, (), "", children, item.span)
    bullet = line_bullet(item.lines[0], children)
    if len(item.lines) == 1:
        return bullet
    # A wrapped item: its continuation lines extend the text and the value.
    more = " ".join(line.source.strip() for line in item.lines[1:])
    text = Text(f"{bullet.text.text} {more}", bullet.text.span)
    value = bullet.value
    if value is not None and not bullet.codes:
        value = Text(f"{value.text} {more}", value.span)
    extra_codes = tuple(Text(s.text, s.span) for line in item.lines[1:] for s in line.codes)
    return Bullet(
        text, bullet.key, value, bullet.codes + extra_codes, bullet.trailing, children, item.span
    )


def line_bullet(line: Line, children: tuple[Bullet, ...]) -> Bullet:
    text = line_text(line)
    segments = line.segments
    key: Text | None = None
    colon_at: int | None = None  # offset in line.source just past the colon
    if segments[0].kind == "code" and len(segments) > 1 and segments[1].kind == "text":
        after = segments[1].text
        if after.lstrip().startswith(":") and not after.lstrip().startswith("::"):
            key = Text(segments[0].text, segments[0].span)
            source_from = segments[1].span.col - line.span.col
            colon_at = line.source.find(":", source_from) + 1
    elif segments[0].kind == "text":
        match = _PLAIN_KEY.match(line.source)
        if match is not None:
            key = Text(match.group(1), line.span.narrow(match.start(1), len(match.group(1))))
            colon_at = match.end()
    if key is None or colon_at is None or colon_at <= 0:
        codes = tuple(Text(s.text, s.span) for s in line.codes)
        return Bullet(text, None, None, codes, "", children, line.span)

    value_col = line.span.col + colon_at
    codes = tuple(Text(s.text, s.span) for s in line.codes if s.span.col >= value_col)
    raw = line.source[colon_at:]
    stripped = raw.strip()
    lead = len(raw) - len(raw.lstrip())
    raw_span = line.span.narrow(colon_at + lead, len(stripped))
    if not stripped:
        return Bullet(text, key, None, codes, "", children, line.span)
    if codes and stripped.startswith("`"):
        # The value is its first code span; what follows (more names, a description) trails.
        code = codes[0]
        close = line.source.find("`", code.span.end_col - line.span.col)
        trailing = line.source[close + 1 :].lstrip("`").strip() if close >= 0 else ""
        return Bullet(text, key, code, codes, trailing, children, line.span)
    return Bullet(text, key, Text(stripped, raw_span), codes, "", children, line.span)
