"""The section tree: spans to the column, nesting, and titles written as plain lines."""

from __future__ import annotations

from ecmc.frontend.markdown import Item, Line, is_title_line, parse_document
from ecmc.span import Span

SPEC = """# Demo ECM Spec

## Engine Header
- `engine_id`: `DEMO`
- `purpose`: Shows *spans* and `codes`.
  - nested `child`

## Capability List

### `DEMO_READ`
- `name`: Read
"""


def test_sections_nest_by_level_and_carry_spans() -> None:
    doc = parse_document("d.md", SPEC)
    assert doc.title is not None and doc.title.source == "Demo ECM Spec"
    header, caps = doc.sections
    assert header.title.span == Span("d.md", 3, 4, 3, 17)
    assert caps.children[0].title.source == "`DEMO_READ`"
    assert caps.children[0].title.codes[0].span == Span.point("d.md", 10, 6, 9)


def test_code_segments_are_located_to_the_column() -> None:
    doc = parse_document("d.md", SPEC)
    first, second = doc.sections[0].blocks
    assert isinstance(first, Item) and isinstance(second, Item)
    key, _, value = first.lines[0].segments
    assert (key.text, key.span.col) == ("engine_id", 4)
    assert (value.text, value.span.col) == ("DEMO", 17)
    codes = second.lines[0].codes
    assert [(c.text, c.span.col) for c in codes] == [("purpose", 4), ("codes", 33)]
    (child,) = second.children
    assert child.lines[0].codes[0].span == Span.point("d.md", 6, 13, 5)


def test_plain_line_sections() -> None:
    text = (
        "PH1.X ECM Spec\nEngine Header\nengine_id: PH1.X\n\nCapability List\n### `X_A`\nname: A\n"
    )
    doc = parse_document("p.md", text)
    assert doc.title is not None and doc.title.source == "PH1.X ECM Spec"
    assert [s.title.source for s in doc.sections] == ["Engine Header", "Capability List"]
    (line,) = doc.sections[0].blocks
    assert isinstance(line, Line) and line.span.line == 3 and line.source == "engine_id: PH1.X"
    assert doc.sections[1].children[0].blocks[0].span.line == 7


def test_title_lines() -> None:
    for title in ("Engine Header", "Failure Modes + Reason Codes", "Hard Rules", "Sources"):
        assert is_title_line(title), title
    for prose in (
        "deterministic failures include:",
        "REM_FAIL_TIMEZONE_INVALID",
        "PH1.REM must not decide message urgency.",
        "engine_id: PH1.REM",
        "OK",
        "",
    ):
        assert not is_title_line(prose), prose
