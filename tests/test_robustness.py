"""No input, however mangled, makes the front end raise: only diagnostics come out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from blake3 import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, SPECS, compile_with_project, project_specs
from ecmc.emit.plan import plan
from ecmc.pipeline import compile_texts
from ecmc.registry import DIAGNOSTICS as REGISTRY
from ecmc.write.writer import render_all

SEED_PATHS = sorted(
    path.relative_to(REPO).as_posix()
    for folder in ("ecm", "wiring", "common")
    for path in (SPECS / folder).glob("*.md")
    if path.name != "PH1_J.md" or folder != "ecm"
)
SEED_TEXTS = tuple((REPO / path).read_bytes() for path in SEED_PATHS)
TARGET = "tests/mutated.md"
# The style rules of the project, for generated trees written outside it.
RUFF_SETTINGS = [
    "--line-length=100",
    "--target-version=py311",
    "--select=E,F,W,I,B,UP,SIM,RUF",
    "--ignore=E501",
]
MYPY_SAMPLE = 2


@st.composite
def mutated_specs(draw: st.DrawFn, seed: bytes | None = None) -> bytes:
    lines = (seed if seed is not None else draw(st.sampled_from(SEED_TEXTS))).split(b"\n")
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if not lines:
            lines = [b""]
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        operation = draw(
            st.sampled_from(["drop", "duplicate", "swap", "truncate", "inject", "splice"])
        )
        if operation == "drop":
            del lines[i]
        elif operation == "duplicate":
            lines.insert(j, lines[i])
        elif operation == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif operation == "truncate":
            cut = draw(st.integers(min_value=0, max_value=max(len(lines[i]), 0)))
            lines = [*lines[:i], lines[i][:cut]]
        elif operation == "inject":
            noise = draw(st.binary(min_size=1, max_size=12))
            at = draw(st.integers(min_value=0, max_value=len(lines[i])))
            lines[i] = lines[i][:at] + noise + lines[i][at:]
        else:
            # Characters that matter to Markdown and to the type grammar, spliced mid-line.
            token = draw(
                st.sampled_from(
                    [
                        b"`",
                        b"``",
                        b"(",
                        b")",
                        b"<",
                        b">",
                        b"{",
                        b"}",
                        b"?",
                        b"[]",
                        b"::",
                        b":",
                        b"- ",
                        b"### ",
                        b"=",
                        b"|",
                        b",",
                        b"\\",
                        b"*",
                        b"\t",
                        b"\xc3",
                        b"\r",
                    ]
                )
            )
            at = draw(st.integers(min_value=0, max_value=len(lines[i])))
            lines[i] = lines[i][:at] + token + lines[i][at:]
    return b"\n".join(lines)


@st.composite
def mutated_project(draw: st.DrawFn) -> tuple[str, bytes]:
    """One of the project's own specs, mutated in place: the rest of the project stays."""
    index = draw(st.integers(min_value=0, max_value=len(SEED_PATHS) - 1))
    return SEED_PATHS[index], draw(mutated_specs(SEED_TEXTS[index]))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_specs())
def test_mutated_seeds_yield_only_diagnostics(data: bytes) -> None:
    result = compile_with_project({TARGET: data})
    for diagnostic in result.diagnostics:
        assert diagnostic.code in REGISTRY
        assert diagnostic.span.path == TARGET
        assert diagnostic.span.line >= 1 and diagnostic.span.col >= 1
    result.as_json()  # the IR of whatever was extracted serialises


def test_every_spec_shape_that_compiles_emits_clean_code(tmp_path: Path) -> None:
    """What the front end accepts, the back end emits as code that passes ruff check, ruff
    format --check and (on a sample) mypy --strict, whatever shape the specs took."""
    trees: dict[str, dict[str, str]] = {}

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated_project())
    def run(case: tuple[str, bytes]) -> None:
        path, data = case
        result = compile_texts({**project_specs(), path: data})  # every file's errors count
        assert all(d.code in REGISTRY for d in result.diagnostics)
        if result.has_errors:
            return
        package = f"fuzz_ecm_{len(trees)}"
        files = render_all(plan(result.program, package, "g"))
        sources = {p: b.decode() for p, b in files.items() if p.endswith(".py")}
        for name, source in sources.items():
            compile(source, name, "exec")
        shape = blake3(
            "\0".join(sorted(s.replace(package, "P") for s in sources.values())).encode()
        )
        trees.setdefault(shape.hexdigest(), {**sources, f"{package}/py.typed": ""})

    run()
    assert len(trees) >= 8, "too few mutations compiled: the emit path went untested"
    root = tmp_path / "trees"
    for files in trees.values():
        for name, source in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(source, encoding="utf-8")
    ruff = [sys.executable, "-m", "ruff"]
    for command in (
        [*ruff, "check", "--no-cache", *RUFF_SETTINGS, f"--config=src=['{root}']", str(root)],
        [*ruff, "format", "--check", "--no-cache", "--line-length=100", str(root)],
    ):
        checked = subprocess.run(command, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    sample = sorted(p.name for p in root.iterdir())[:MYPY_SAMPLE]
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *sample],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env={**os.environ, "MYPYPATH": str(REPO / "runtime")},
    )
    assert typed.returncode == 0, typed.stdout[-4000:]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_yields_only_diagnostics(text: str) -> None:
    result = compile_with_project({TARGET: text})
    assert all(d.code in REGISTRY for d in result.diagnostics)


def test_mutation_strategy_reads_real_seeds() -> None:
    # every ECM file but the audit engine's, every wiring spec, the field dictionary, callers
    engines = len(list((SPECS / "ecm").glob("*.md")))
    companions = len(list((SPECS / "wiring").glob("*.md"))) + len(
        list((SPECS / "common").glob("*.md"))
    )
    assert len(SEED_TEXTS) == (engines - 1) + companions
