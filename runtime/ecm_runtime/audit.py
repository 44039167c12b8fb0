"""Audit events: the canonical payload, its BLAKE3 digest, and the bounded-key rule."""

from __future__ import annotations

import json
from collections.abc import Mapping

from blake3 import blake3


def canonical_json(value: object) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: object) -> str:
    return blake3(canonical_json(value).encode("utf-8")).hexdigest()


def unknown_keys(payload: Mapping[str, object], allowed: frozenset[str]) -> list[str]:
    return sorted(key for key in payload if key not in allowed)
