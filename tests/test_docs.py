"""`ecmc docs` (issue 16): the site for the project's specs (snapshot of its pages), SVGs that
are valid XML with the lifecycle's states and edges, every source link pointing at a line that
exists, the Markdown rendering with Mermaid, and deterministic bytes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from syrupy.assertion import SnapshotAssertion

from conftest import REPO, project_specs
from ecmc.cli import main
from ecmc.commands.docs import render_docs
from ecmc.docs.svg import lifecycle_svg
from ecmc.pipeline import FrontendResult, compile_texts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def compiled() -> FrontendResult:
    return compile_texts(project_specs())


@pytest.fixture(scope="module")
def site(compiled: FrontendResult) -> dict[str, str]:
    return render_docs(compiled, "html")


def test_the_site_snapshot(site: dict[str, str], snapshot: SnapshotAssertion) -> None:
    pages = {path: text for path, text in site.items() if not path.startswith("source/")}
    assert pages == snapshot


def test_the_index_lists_every_engine(site: dict[str, str], compiled: FrontendResult) -> None:
    for engine in compiled.program.engines:
        slug = engine.engine_id.lower().replace(".", "_")
        assert f'href="engines/{slug}.html">{engine.engine_id}</a>' in site["index.html"]
        assert f"engines/{slug}.html" in site


def test_the_capreq_lifecycle_is_drawn_with_its_states_and_edges(
    compiled: FrontendResult,
) -> None:
    (capreq,) = [lc for lc in compiled.program.lifecycles if lc.name == "capreq"]
    root = ET.fromstring(lifecycle_svg(capreq))
    states = {g.get("data-name") for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "")}
    assert states == set(capreq.states)
    finals = {g.get("data-name") for g in root.iter(f"{SVG}g") if g.get("class") == "node final"}
    assert finals == {"REJECTED", "FULFILLED", "CANCELED"}
    edges = {
        (g.get("data-from"), g.get("data-action"), g.get("data-to"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "edge"
    }
    assert {
        ("START", "CREATE_DRAFT", "DRAFT"),
        ("DRAFT", "SUBMIT_FOR_APPROVAL", "PENDING_APPROVAL"),
        ("PENDING_APPROVAL", "APPROVE", "APPROVED"),
        ("PENDING_APPROVAL", "REJECT", "REJECTED"),
        ("APPROVED", "FULFILL", "FULFILLED"),
        ("DRAFT", "CANCEL", "CANCELED"),
        ("PENDING_APPROVAL", "CANCEL", "CANCELED"),
        ("APPROVED", "CANCEL", "CANCELED"),
    } == edges
    labels = "".join(root.itertext())
    assert "CAPREQ_OK_APPROVE" in labels and "CAPREQ_OK_CANCEL" in labels


def test_every_svg_in_the_site_is_valid_xml(site: dict[str, str]) -> None:
    found = 0
    for text in site.values():
        for svg in re.findall(r"<svg .*?</svg>", text, re.S):
            ET.fromstring(svg)
            found += 1
    assert found >= 2  # the data map and at least one lifecycle


def test_every_source_link_points_at_an_existing_line(site: dict[str, str]) -> None:
    checked = 0
    for path, text in site.items():
        for href, line in re.findall(r'href="([^"#]*source/[^"#]+)#L(\d+)"', text):
            resolved = _normalise(Path(path).parent / href)
            assert resolved in site, f"{path} links to {resolved}, which the site lacks"
            assert f'id="L{line}"' in site[resolved], f"{path}: no line {line} there"
            checked += 1
    assert checked > 100


def _normalise(path: Path) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def test_the_markdown_has_mermaid_and_links_to_real_lines(compiled: FrontendResult) -> None:
    pages = render_docs(compiled, "markdown", root="../..")
    capreq = pages["engines/ph1_capreq.md"]
    assert "```mermaid\nstateDiagram-v2" in capreq
    assert "  PENDING_APPROVAL --> APPROVED: APPROVE (CAPREQ_OK_APPROVE)" in capreq
    assert "  APPROVED --> CANCELED: CANCEL (CAPREQ_OK_CANCEL)" in capreq
    assert "```mermaid\nflowchart LR" in pages["index.md"]
    for path, line in re.findall(r"\]\(\.\./\.\./\.\./(specs/[^#)]+)#L(\d+)\)", capreq):
        lines = (REPO / path).read_text(encoding="utf-8").splitlines()
        assert 1 <= int(line) <= len(lines)


def test_the_command_writes_deterministic_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = CliRunner().invoke(main, ["docs", "--out", str(out)])
        assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    again = CliRunner().invoke(main, ["docs", "--out", str(first)])
    assert "0 file(s) written" in again.output
