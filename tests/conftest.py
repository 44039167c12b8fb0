"""Shared paths and helpers for the test suite."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ecmc.diagnostics import Diagnostic
from ecmc.pipeline import FrontendResult, compile_texts

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
    from ecmc.frontend.reader import decode_spec
    from ecmc.pipeline import compile_specs

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


@pytest.fixture(scope="session", autouse=True)
def _app_role() -> Iterator[None]:
    """The run's own application role, dropped when the run ends (tests/storage.py)."""
    from storage import drop_app_role

    yield
    drop_app_role()


@pytest.fixture(scope="session")
def project() -> FrontendResult:
    return compile_texts(project_specs())


def problems(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Every diagnostic but the prose readings (ECM067): the ECM files state some meanings in
    words, and those readings are reported by design, on clean specs too."""
    return [d for d in diagnostics if d.code != "ECM067"]


def project_counts() -> tuple[int, int, int]:
    """(engines, capabilities, generated files) of the project's specs: tests count from the
    specs, so adding an engine breaks no count (only the golden snapshots, by design)."""
    program = compile_texts(project_specs()).program
    capabilities = sum(len(engine.capabilities) for engine in program.engines)
    # the package __init__, py.typed, fields, records, tables, catalog, engines/__init__
    return len(program.engines), capabilities, 7 + len(program.engines)


def make_project(
    root: Path, package: str, specs: dict[str, str], keep_project: bool = True
) -> Path:
    """A throwaway ecmc project: a pyproject naming `package`, the project's specs if
    `keep_project`, and `specs` (relative path -> text) on top. Returns its root."""
    import shutil

    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[tool.ecmc]\nspecs = "specs"\nout = "generated"\npackage = "{package}"\n',
        encoding="utf-8",
    )
    if keep_project:
        shutil.copytree(SPECS, root / "specs")
    for relative, text in specs.items():
        path = root / "specs" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def import_generated() -> Iterator[Callable[[Path, str], ModuleType]]:
    """Import a package built into `<root>/generated`; forget it afterwards."""
    import importlib
    import sys

    added: list[tuple[str, str]] = []

    def load(root: Path, package: str) -> ModuleType:
        out = str(root / "generated")
        sys.path.insert(0, out)
        added.append((out, package))
        importlib.invalidate_caches()
        return importlib.import_module(package)

    yield load
    for out, package in added:
        sys.path.remove(out)
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]
