"""Reading `key: value` blocks: duplicate and unknown keys, values as names or lists of names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Bullet, Text
from ecmc.frontend.type_grammar import (
    FieldRef,
    GrammarError,
    Pinned,
    TupleType,
    UnitType,
    parse_type,
)
from ecmc.span import Span

_NAME_LIST_ITEM = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def keyed(
    bullets: Iterable[Bullet],
    vocabulary: frozenset[str],
    context: str,
    diagnostics: Diagnostics,
) -> dict[str, Bullet]:
    """The `key: value` bullets of a block by key; reports repeats and keys outside the vocabulary.

    Bullets that are not `key: value` are the caller's to report: it knows what prose is allowed.
    """
    found: dict[str, Bullet] = {}
    for bullet in bullets:
        if bullet.key is None:
            continue
        name = bullet.key.text
        if name in found:
            diagnostics.report(
                Code.DUPLICATE_KEY,
                bullet.key.span,
                f"{context}: key {name!r} is given twice",
                f"first at {found[name].span}",
            )
            continue
        if name not in vocabulary:
            diagnostics.report(
                Code.UNKNOWN_KEY,
                bullet.key.span,
                f"{context}: key {name!r} is not part of the vocabulary; kept as an extra",
                f"known keys: {', '.join(sorted(vocabulary))}",
            )
        found[name] = bullet
    return found


def names_in(bullet: Bullet) -> tuple[Text, ...]:
    """A value listing names: code spans if there are any, else comma-separated plain names."""
    if bullet.codes:
        return bullet.codes
    if bullet.value is None:
        return ()
    names = []
    offset = 0
    for piece in bullet.value.text.split(","):
        word = piece.strip()
        start = bullet.value.text.find(word, offset) if word else offset
        offset = start + len(word)
        if _NAME_LIST_ITEM.fullmatch(word):
            names.append(Text(word, bullet.value.span.narrow(start, len(word))))
        else:
            return ()
    return tuple(names)


def value_text(bullet: Bullet | None) -> str:
    return bullet.value.text if bullet is not None and bullet.value is not None else ""


def name_list(text: Text | None, diagnostics: Diagnostics) -> list[Text]:
    """`(a, b, c)` or `a`: a list of bare names, with spans; `none` is the empty list."""
    if text is None:
        return []
    parsed = parse_type(text.text, text.span)
    if isinstance(parsed, GrammarError):
        diagnostics.report(Code.TYPE_SYNTAX, parsed.span(text.span), parsed.message)
        return []
    names = []
    for item in parsed.members if isinstance(parsed, TupleType) else (parsed,):
        if isinstance(item, FieldRef):
            names.append(Text(item.name, item.span))
        elif not (isinstance(item, UnitType) and item.keyword == "none"):
            diagnostics.report(Code.MISPLACED_TYPE, item.span, "expected a plain name here")
    return names


def bullet_names(bullet: Bullet | None, diagnostics: Diagnostics) -> list[Text]:
    return name_list(bullet.value if bullet is not None else None, diagnostics)


def pin_list(
    bullet: Bullet | None, diagnostics: Diagnostics, shape: str = "name=VALUE"
) -> list[tuple[str, str, Span]]:
    """`(name=VALUE, ...)`: (name, value, span) of each pair."""
    if bullet is None or bullet.value is None:
        return []
    return pins(bullet.value, diagnostics, shape)


def pins(
    text: Text, diagnostics: Diagnostics, shape: str = "name=VALUE"
) -> list[tuple[str, str, Span]]:
    """The pairs of a `(name=VALUE, ...)` code span: (name, value, span) of each."""
    parsed = parse_type(text.text, text.span)
    if isinstance(parsed, GrammarError):
        diagnostics.report(Code.TYPE_SYNTAX, parsed.span(text.span), parsed.message)
        return []
    pairs = []
    for item in parsed.members if isinstance(parsed, TupleType) else (parsed,):
        if isinstance(item, Pinned) and isinstance(item.inner, FieldRef) and len(item.values) == 1:
            pairs.append((item.inner.name, item.values[0], item.span))
        else:
            diagnostics.report(Code.MISPLACED_TYPE, item.span, f"expected {shape} here")
    return pairs
