"""What each path loads (DESIGN §9): behaviour, not timing."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import REPO

HEAVY = ("sqlalchemy", "pydantic", "ecm_runtime")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(run.stdout.split())


def test_the_compile_path_never_loads_the_runtime_or_its_libraries() -> None:
    loaded = loaded_after(
        "from ecmc.commands.build import compile_project\n"
        "from ecmc.config import load_config\n"
        "from ecmc.write.writer import render_all\n"
        "render_all(compile_project(load_config()).planned)"
    )
    assert "markdown_it" in loaded and "jinja2" in loaded
    assert loaded.isdisjoint(HEAVY)


def test_check_with_nothing_changed_does_not_parse() -> None:
    loaded = loaded_after(
        "from ecmc.config import load_config\n"
        "from ecmc.commands.check import check\n"
        "assert check(load_config()).fast"
    )
    assert loaded.isdisjoint({"markdown_it", "jinja2", *HEAVY})


# --- the shape of the code, drawn from its imports ------------------------------------------

PIPELINE = ("frontend", "resolve", "lower", "check", "emit", "write", "adopt", "commands")
"""The compiler's stage packages in pipeline order: each may import only those before it."""


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (TYPE_CHECKING imports included)."""
    roots = {
        "ecmc": REPO / "compiler" / "ecmc",
        "ecm_runtime": REPO / "runtime" / "ecm_runtime",
        "ecm_contract": REPO / "runtime" / "ecm_contract",
    }
    modules: dict[str, Path] = {}
    for top, root in roots.items():
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join((top, *parts)).removesuffix(".__init__")
            modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def test_there_is_no_import_circle() -> None:
    graph = import_graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import circle: " + " -> ".join([*path, module]))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_nothing_imports_the_runtime_that_composes_it() -> None:
    importers = {m for m, targets in import_graph().items() if "ecm_runtime.runtime" in targets}
    assert importers == {"ecm_runtime"}  # the package's public face only


def test_the_contract_depends_on_nothing() -> None:
    """Compiler and runtime both import ecm_contract; it imports only the standard library."""
    import sys

    source = (REPO / "runtime" / "ecm_contract" / "__init__.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)
    graph = import_graph()
    assert "ecm_contract" in graph["ecmc.ir"] and "ecm_contract" in graph["ecm_runtime.facts"]


def test_compiler_stages_import_only_earlier_stages() -> None:
    for module, targets in import_graph().items():
        stage = module.split(".")[1] if module.startswith("ecmc.") else ""
        if stage not in PIPELINE:
            continue
        later = set(PIPELINE[PIPELINE.index(stage) + 1 :])
        bad = {t for t in targets if t.startswith("ecmc.") and t.split(".")[1] in later}
        assert not bad, f"{module} imports a later stage: {sorted(bad)}"


def test_no_module_is_over_400_lines() -> None:
    sources = [*(REPO / "compiler").rglob("*.py"), *(REPO / "runtime").rglob("*.py")]
    long = {
        p.relative_to(REPO).as_posix(): n
        for p in sources
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


LONG_FUNCTIONS = {
    "compiler/ecmc/resolve/program.py:resolve_program": "the whole program in resolve order, "
    "one step per companion kind: split, the order it states would be scattered",
}
"""Functions over 60 lines, each with the reason it is kept whole."""


def test_no_function_is_over_60_lines_without_a_stated_reason() -> None:
    long = {}
    for path in [*(REPO / "compiler").rglob("*.py"), *(REPO / "runtime").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > 60:
                    long[f"{path.relative_to(REPO).as_posix()}:{node.name}"] = lines
    assert set(long) == set(LONG_FUNCTIONS), long
