"""A warning acknowledged in the spec, next to it and with a reason, is counted apart; a
suppression that names an error, an unknown code or no reason, or that silences nothing, is
itself a warning; and the comment changes nothing the spec says."""

from __future__ import annotations

import pytest

from conftest import compile_with_project
from ecmc.ir import to_jsonable
from ecmc.pipeline import FrontendResult
from test_cli import ecmc
from test_ecm_shapes import HEAD, PATH

VERSION = "- `version`: `vNext`"


def run(version_line: str) -> FrontendResult:
    text = HEAD.format(inp="`(tenant_id)`", out="`(reason_code)`", effects="`NONE`", version="`v1`")
    text = text.replace("- `version`: `v1`", version_line)
    return compile_with_project({PATH: text})


def found(result: FrontendResult) -> list[str]:
    return sorted(d.code for d in result.diagnostics if d.code != "ECM033")


@pytest.mark.parametrize(
    "written",
    [
        f"{VERSION} <!-- ecmc: allow ECM076 the version is a release-train label -->",
        f"<!-- ecmc: allow ECM076: the version is a release-train label -->\n{VERSION}",
        f"<!--ecmc:allow ecm076 — a label-->\n\n{VERSION}",
        f"{VERSION} <!-- ecmc: allow ECM076\n  spans two lines of reason -->",
    ],
    ids=["trailing", "line-before", "blank-between", "multi-line"],
)
def test_an_acknowledged_warning_is_counted_apart(written: str) -> None:
    assert found(run(VERSION)) == ["ECM076"]
    result = run(written)
    assert found(result) == []
    assert [d.code for d in result.suppressed] == ["ECM076"]


@pytest.mark.parametrize(
    ("written", "words"),
    [
        (f"{VERSION} <!-- ecmc: allow ECM076 -->", "states no reason"),
        (f"{VERSION} <!-- ecmc: allow ECM076: -->", "states no reason"),
        (f"{VERSION} <!-- ecmc: allow ECM999 because -->", "no diagnostic code"),
        (f"{VERSION} <!-- ecmc: allow ECM077 because -->", "cannot be suppressed"),
        (f"{VERSION} <!-- ecmc: allow ECM067 because -->", "silences nothing"),
    ],
)
def test_a_suppression_that_does_not_hold_is_a_warning(written: str, words: str) -> None:
    result = run(written)
    problems = [d for d in result.diagnostics if d.code == "ECM077"]
    assert len(problems) == 1 and words in problems[0].message
    assert "ECM076" in found(result)  # the warning it meant to silence stays
    assert problems[0].span.line == result.sources[PATH].index(written.split("\n")[0]) + 1


def test_an_error_is_never_silenced() -> None:
    result = run("- `version`: `v1`\n- `status`: <!-- ecmc: allow ECM011 it is fine -->")
    assert "ECM077" in found(result)
    assert result.suppressed == ()


def test_a_suppression_reaches_only_its_own_line() -> None:
    result = run(
        f"<!-- ecmc: allow ECM076 a label -->\n- `purpose_note`: text\n{VERSION}",
    )
    assert "ECM076" in found(result) and "ECM077" in found(result)


def test_the_comment_changes_nothing_the_spec_says() -> None:
    plain, noted = run(VERSION), run(f"{VERSION} <!-- ecmc: allow ECM076 a label -->")
    engine = [e for e in plain.program.engines if e.engine_id == "PH1.SHAPE"]
    same = [e for e in noted.program.engines if e.engine_id == "PH1.SHAPE"]
    assert to_jsonable(engine[0].capabilities) == to_jsonable(same[0].capabilities)
    assert engine[0].version == same[0].version


def test_an_authors_own_comment_is_left_alone() -> None:
    result = run(f"{VERSION} <!-- a note for reviewers -->")
    assert found(result) == ["ECM076"] and result.suppressed == ()


def test_the_projects_own_warnings_are_acknowledged() -> None:
    run_ = ecmc("lint", "--fail-on-warning")
    assert run_.returncode == 0, run_.stdout
    assert "(5 suppressed)" in run_.stdout
