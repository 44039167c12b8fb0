"""Blocked terms, matched as a reader sees the text: in its NFKC form (full-width and styled
letters are plain ones), without the format characters that do not show (zero-width spaces,
soft hyphens, direction marks), case-folded, and with every letter that looks like another
taken for it (Unicode's confusables, through the `confusables` package: the Cyrillic small
a, U+0430, is an `a`)."""

from __future__ import annotations

import functools
import re
import unicodedata


def reader_form(text: str) -> str:
    """The text as it reads: NFKC, no format characters, case-folded, spaces collapsed."""
    shown = "".join(
        c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf"
    )
    return " ".join(shown.casefold().split())


@functools.cache
def _pattern(term: str) -> re.Pattern[str]:
    # The package reads its tables on import: only when a policy blocks terms.
    from confusables import confusable_regex  # type: ignore[import-untyped]  # untyped

    return re.compile(confusable_regex(reader_form(term)), re.IGNORECASE)


def blocked(text: str, terms: frozenset[str]) -> bool:
    """Whether `text` holds one of `terms`, however it is spelled to look the same."""
    if not terms:
        return False
    seen = reader_form(text)
    return any(_pattern(term).search(seen) for term in terms if reader_form(term))
