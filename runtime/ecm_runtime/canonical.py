"""The canonical JSON of a value, and its BLAKE3 digest: one spelling per value, so a digest
names the value, not the way it was written."""

from __future__ import annotations

import json

from blake3 import blake3

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""Built once: json.dumps builds an encoder per call for any but its default options."""


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, UTF-8 kept as is."""
    return _CANONICAL.encode(value)


def digest(value: object) -> str:
    return text_digest(canonical_json(value))


def text_digest(canonical: str) -> str:
    """The digest of a value whose canonical JSON is already at hand."""
    return blake3(canonical.encode("utf-8")).hexdigest()
