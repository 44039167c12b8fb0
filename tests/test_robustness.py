"""No input, however mangled, makes the front end raise: only diagnostics come out."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SPECS, compile_with_project
from ecmc.codes import REGISTRY
from ecmc.emit import plan
from ecmc.writer import render_all

SEED_TEXTS = (
    sorted(path.read_bytes() for path in (SPECS / "ecm").glob("*.md") if path.name != "PH1_J.md")
    + sorted(path.read_bytes() for path in (SPECS / "wiring").glob("*.md"))
    + sorted(path.read_bytes() for path in (SPECS / "common").glob("*.md"))
)
TARGET = "tests/mutated.md"


@st.composite
def mutated_specs(draw: st.DrawFn) -> bytes:
    lines = draw(st.sampled_from(SEED_TEXTS)).split(b"\n")
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
    if not result.has_errors:
        # What the front end accepts, the back end can emit, as valid Python.
        for path, source in render_all(plan(result.program, "fuzz_ecm", "g")).items():
            if path.endswith(".py"):
                compile(source, path, "exec")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_yields_only_diagnostics(text: str) -> None:
    result = compile_with_project({TARGET: text})
    assert all(d.code in REGISTRY for d in result.diagnostics)


def test_mutation_strategy_reads_real_seeds() -> None:
    # the four seed ECM files, the five wiring specs, the field dictionary and the callers
    assert len(SEED_TEXTS) == 4 + 5 + 2
