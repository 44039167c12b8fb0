"""Shared paths and helpers for the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from ecmc.frontend import FrontendResult, compile_texts

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "specs"
REFERENCE = REPO.parent / "shared" / "reference"
SEED_ENGINES = {
    "ARTIFACTS_LEDGER_TABLES": "specs/ecm/ARTIFACTS_LEDGER_TABLES.md",
    "PH1.D": "specs/ecm/PH1_D.md",
    "PH1.CAPREQ": "specs/ecm/PH1_CAPREQ.md",
    "PH1.E": "specs/ecm/PH1_E.md",
}


def project_specs() -> dict[str, str | bytes]:
    """Every spec of the project, keyed by its repository-relative path."""
    return {
        path.relative_to(REPO).as_posix(): path.read_bytes() for path in sorted(SPECS.rglob("*.md"))
    }


def compile_with_project(extra: dict[str, str | bytes]) -> FrontendResult:
    """Compile extra specs beside the project's; report only the extra ones."""
    from ecmc.diagnostics import Diagnostics
    from ecmc.frontend import compile_specs
    from ecmc.reader import decode_spec

    diagnostics = Diagnostics()
    context = project_specs()
    for path in extra:
        context.pop(path, None)
    specs = [
        decode_spec(path, data if isinstance(data, bytes) else data.encode(), diagnostics)
        for path, data in [*context.items(), *extra.items()]
    ]
    return compile_specs(specs, frozenset(extra), diagnostics)


def reference_files() -> list[Path]:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference ECM files not found at {REFERENCE}")
    return sorted(REFERENCE.glob("ECM_*.md"))


@pytest.fixture(scope="session")
def project() -> FrontendResult:
    return compile_texts(project_specs())
