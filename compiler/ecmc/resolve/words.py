"""Vocabularies the readings of ECM prose classify words by."""

from __future__ import annotations


def vocabulary(text: str) -> frozenset[str]:
    """A set of words written as one string: a vocabulary reads better as prose than as a
    list of quoted words."""
    return frozenset(text.split())
