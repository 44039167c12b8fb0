"""Broken specs: each file's diagnostics are snapshot-tested; together they cover every code."""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from conftest import compile_with_project
from ecmc.diagnostics import render_human
from ecmc.frontend.reader import MAX_SPEC_BYTES
from ecmc.registry import DIAGNOSTICS as REGISTRY

BROKEN = Path(__file__).parent / "broken_specs"
BROKEN_FILES = sorted(BROKEN.glob("*.md"))

# Inputs too large to keep in the repository are made here.
SYNTHETIC: dict[str, bytes] = {
    "too_large.md": b"# Big\n\n" + b"- `x`: y\n" * (MAX_SPEC_BYTES // 9 + 1),
}


def diagnose(name: str, data: bytes) -> tuple[str, set[str]]:
    path = f"tests/broken_specs/{name}"
    result = compile_with_project({path: data})
    codes = {d.code for d in result.diagnostics}
    return render_human(result.diagnostics, result.sources, limit=None), codes


def test_the_folder_holds_enough_cases() -> None:
    assert len(BROKEN_FILES) >= 25


@pytest.mark.parametrize("path", BROKEN_FILES, ids=[p.name for p in BROKEN_FILES])
def test_broken_spec_diagnostics(path: Path, snapshot: SnapshotAssertion) -> None:
    report, codes = diagnose(path.name, path.read_bytes())
    assert codes, f"{path.name} produced no diagnostic"
    assert report == snapshot


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_broken_spec_diagnostics(name: str, snapshot: SnapshotAssertion) -> None:
    report, codes = diagnose(name, SYNTHETIC[name])
    assert codes
    assert report == snapshot


def test_every_code_is_produced_by_some_broken_spec() -> None:
    produced: set[str] = set()
    for path in BROKEN_FILES:
        produced |= diagnose(path.name, path.read_bytes())[1]
    for name, data in SYNTHETIC.items():
        produced |= diagnose(name, data)[1]
    # ECM075 is the lock behind the emitters: no spec reaches it while they hold
    # (tests/test_build_guarantees.py drives it with a module that would not compile).
    assert sorted(set(REGISTRY) - produced - {"ECM075"}) == []
    assert produced <= set(REGISTRY)
