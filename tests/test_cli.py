"""The command line, run as a user runs it: exit codes, formats, and no traceback on any input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, reference_files
from ecmc.registry import DIAGNOSTICS as REGISTRY


def ecmc(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m ecmc ARGS` in `cwd`, with `env` over the process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "ecmc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_lint_is_clean_on_the_project_specs() -> None:
    run = ecmc("lint")
    assert run.returncode == 0, run.stdout + run.stderr
    # The readings of prose (ECM067) are acknowledged in the specs, each with its reason.
    assert run.stdout.strip().endswith("no problems (5 suppressed)"), run.stdout


def test_inspect_lists_the_seed_engines() -> None:
    run = ecmc("inspect", "--format", "json")
    assert run.returncode == 0, run.stderr
    ir = json.loads(run.stdout)
    assert ir["diagnostics"] == []  # the prose readings are acknowledged in the specs
    engines = {e["engine_id"]: e for e in ir["engines"]}
    counts = {
        "ARTIFACTS_LEDGER_TABLES": (4, 4),
        "PH1.D": (6, 5),
        "PH1.CAPREQ": (11, 6),
        "PH1.E": (13, 5),
    }
    for engine_id, (capabilities, reason_codes) in counts.items():
        engine = engines[engine_id]
        assert len(engine["capabilities"]) == capabilities
        assert len(engine["reason_codes"]) == reason_codes
        for cap in engine["capabilities"]:
            assert {"id", "name", "allowed_callers", "side_effects", "input", "output", "span"} <= (
                cap.keys()
            )
            assert cap["callers"]
    d_chat = next(c for c in engines["PH1.D"]["capabilities"] if c["id"] == "PH1D_CHAT_COMMIT_ROW")
    assert d_chat["allowed_callers"] == "SELENE_OS_ONLY"
    assert d_chat["side_effects"] == {"kind": "DECLARED", "effects": ["DB_WRITE"]}
    assert "temperature_bp" in [k["name"] for k in d_chat["audit"][0]["keys"]]


def test_unknown_field_points_at_line_and_column(tmp_path: Path) -> None:
    spec = tmp_path / "DEMO.md"
    spec.write_text(
        "# Demo\n\n## Engine Header\n- `engine_id`: `DEMO`\n- `purpose`: demo\n"
        "- `data_owned`: `audit_events`\n- `version`: `v1`\n- `status`: `ACTIVE`\n\n"
        "## Capability List\n\n### `DEMO_READ`\n- `name`: Read\n"
        "- `input_schema`: `(tenant_id, flavour)`\n- `output_schema`: `Vec<AuditEvent>`\n"
        "- `allowed_callers`: `SELENE_OS_ONLY`\n- `side_effects`: `NONE`\n",
        encoding="utf-8",
    )
    run = ecmc("lint", str(spec))
    assert run.returncode == 1
    assert f"{spec}:14:32: error[ECM021]: unknown field 'flavour'" in run.stdout
    assert "       |                                ^^^^^^^" in run.stdout
    as_json = json.loads(ecmc("lint", "--format", "json", str(spec)).stdout)
    assert [(d["line"], d["col"], d["code"]) for d in as_json] == [(14, 32, "ECM021")]


JUNK: dict[str, bytes] = {
    "binary.md": bytes(range(256)) * 8,
    "empty.md": b"",
    "README.md": b"# Tool\n\nInstall it with `pip`.\n\n## Usage\n- run it\n",
    "huge.md": b"- `engine_id`: `X`\n" * (5 * 1024 * 1024 // 19),
    "latin1.md": "# Spec\n\n## Engine Header\n- caf\u00e9\n".encode("latin-1"),
    "notes.txt.md": b"\xef\xbb\xbfjust some text\r\nwith CRLF\r\n",
}


@pytest.mark.parametrize("name", sorted(JUNK))
def test_junk_input_gets_diagnostics_not_a_traceback(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(JUNK[name])
    lint = ecmc("lint", str(path))
    inspect = ecmc("inspect", str(path))
    for run in (lint, inspect):
        assert "Traceback" not in run.stdout + run.stderr
        assert run.returncode == 1
    assert " error[ECM00" in lint.stdout
    ir = json.loads(inspect.stdout)
    assert ir["diagnostics"] and all(d["path"] == str(path) for d in ir["diagnostics"])


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    run = ecmc("lint", str(tmp_path / "nope.md"))
    assert run.returncode == 2
    assert "no such file or directory" in run.stderr
    assert "Traceback" not in run.stderr


def test_unknown_option_is_a_usage_error() -> None:
    assert ecmc("lint", "--no-such-option").returncode == 2


def test_outside_a_project_without_specs_is_a_usage_error(tmp_path: Path) -> None:
    run = ecmc("lint", cwd=tmp_path)
    assert run.returncode == 2
    assert "no specs directory" in run.stderr


def test_explain_gives_the_rule_a_failing_example_and_the_fix() -> None:
    run = ecmc("lint", "--explain", "ecm021")
    assert run.returncode == 0
    lines = run.stdout.splitlines()
    assert lines[0] == f"ECM021 (error): {REGISTRY['ECM021'].summary}"
    assert [line.split(":")[0] for line in lines if line[:5] in ("Rule:", "Fails", "Fix: ")] == [
        "Rule",
        "Fails",
        "Fix",
    ]
    assert ecmc("lint", "--explain", "ECM999").returncode == 2


def test_every_code_is_explained_and_listed() -> None:
    from ecmc.commands.explain import explain
    from ecmc.registry import DIFF_RULES, RULES

    assert set(RULES) == set(REGISTRY) | set(DIFF_RULES)
    for code, rule in RULES.items():
        assert rule.summary and rule.rule and rule.example and rule.fix, code
        assert (explain(code) or "").startswith(code)
    listed = ecmc("lint", "--list-codes")
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == list(RULES)
    assert ecmc("lint", "--explain", "ecmd104").stdout.startswith("ECMD104 (security)")


def test_report_is_cut_after_the_limit(tmp_path: Path) -> None:
    spec = tmp_path / "many.md"
    fields = ", ".join(f"unknown_field_{i}" for i in range(30))
    spec.write_text(
        "# Demo\n\n## Engine Header\n- `engine_id`: `DEMO`\n\n## Capability List\n\n"
        f"### `DEMO_READ`\n- `name`: Read\n- `input_schema`: `({fields})`\n"
        "- `output_schema`: `unit`\n- `allowed_callers`: `SELENE_OS_ONLY`\n"
        "- `side_effects`: `NONE`\n",
        encoding="utf-8",
    )
    run = ecmc("lint", "--max-diagnostics", "5", str(spec))
    assert run.returncode == 1
    shown = [
        line for line in run.stdout.splitlines() if "error[ECM" in line or "warning[ECM" in line
    ]
    assert len(shown) == 5
    assert "... and 29 more" in run.stdout
    assert run.stdout.rstrip().endswith("30 error(s), 4 warning(s)")


def test_warnings_fail_only_when_asked(tmp_path: Path) -> None:
    spec = tmp_path / "warn.md"
    spec.write_text(
        "# Demo\n\n## Engine Header\n- `engine_id`: `DEMO`\n- `purpose`: demo\n"
        "- `data_owned`: `audit_events`\n- `version`: `v1`\n- `status`: `ACTIVE`\n\n"
        "## Capability List\n\n### `DEMO_READ`\n- `input_schema`: `tenant_id`\n"
        "- `output_schema`: `Vec<AuditEvent>`\n- `allowed_callers`: `SELENE_OS_ONLY`\n"
        "- `side_effects`: `NONE`\n",
        encoding="utf-8",
    )
    assert ecmc("lint", str(spec)).returncode == 0
    failing = ecmc("lint", "--fail-on-warning", str(spec))
    assert failing.returncode == 1
    assert "warning[ECM019]" in failing.stdout


EXPECTED_IDS = {
    "ECM_PH1_WORK.md": ["WORK_POLICY_EVALUATE", "WORK_DECISION_COMPUTE"],
    "ECM_PH1_REM.md": [
        "PH1REM_SCHEDULE_COMMIT_ROW",
        "PH1REM_UPDATE_COMMIT_ROW",
        "PH1REM_CANCEL_COMMIT_ROW",
        "PH1REM_SNOOZE_COMMIT_ROW",
        "PH1REM_FOLLOWUP_SCHEDULE_COMMIT_ROW",
        "PH1REM_DELIVERY_RETRY_SCHEDULE_COMMIT_ROW",
        "PH1REM_DELIVER_PRE_COMMIT_ROW",
        "PH1REM_DELIVER_DUE_COMMIT_ROW",
        "PH1REM_ESCALATE_COMMIT_ROW",
        "PH1REM_MARK_COMPLETED_COMMIT_ROW",
        "PH1REM_MARK_FAILED_COMMIT_ROW",
    ],
    "ECM_PH1_J.md": [
        "PH1J_APPEND_AUDIT_ROW",
        "PH1J_AUDIT_ROWS_BY_CORRELATION",
        "PH1J_AUDIT_ROWS_BY_TENANT",
    ],
}


def test_other_shapes_of_ecm_file() -> None:
    files = reference_files()
    assert {f.name for f in files} == set(EXPECTED_IDS)
    for path in files:
        run = ecmc("inspect", "--format", "json", str(path))
        assert run.returncode in (0, 1), run.stderr
        ir = json.loads(run.stdout)
        (engine,) = ir["engines"]
        assert [c["id"] for c in engine["capabilities"]] == EXPECTED_IDS[path.name]
        assert all(d["path"] == str(path) for d in ir["diagnostics"])


def test_rem_shape_extracts_callers_side_effects_extras_and_codes() -> None:
    (path,) = [p for p in reference_files() if p.name == "ECM_PH1_REM.md"]
    engine = json.loads(ecmc("inspect", str(path)).stdout)["engines"][0]
    assert engine["engine_id"] == "PH1.REM"
    assert len(engine["reason_codes"]) == 7
    deliver = next(c for c in engine["capabilities"] if c["id"] == "PH1REM_DELIVER_DUE_COMMIT_ROW")
    assert deliver["allowed_callers"] == "SELENE_OS_ONLY"  # from the engine header
    assert deliver["side_effects"]["effects"] == ["DB_WRITE", "EXTERNAL_SEND_REQUEST"]
    assert ["simulation_gated", "REMINDER_DELIVER_DUE_COMMIT"] in deliver["extras"]
    assert [n["title"] for n in engine["notes"]] == ["Failure Modes + Reason Codes", "Hard Rules"]


def test_work_shape_types_prose_schemas_and_reports_the_rest() -> None:
    (path,) = [p for p in reference_files() if p.name == "ECM_PH1_WORK.md"]
    ir = json.loads(ecmc("inspect", str(path)).stdout)
    engine = ir["engines"][0]
    evaluate = engine["capabilities"][0]
    members = {m["name"]: m for m in evaluate["input"]["type"]["members"]}
    assert members["idempotency_key"]["optional"] is True
    assert members["deterministic_replay_order"]["pinned"] == ["true"]
    assert "PH1_WORK_OK_POLICY_EVALUATE" in evaluate["reason_codes"]
    untyped = [d for d in ir["diagnostics"] if d["code"] == "ECM025"]
    assert {d["line"] for d in untyped} == {21, 39, 46}
    assert [n["title"] for n in engine["notes"]] == ["Constraints", "Related Engine Boundaries"]


def test_paths_are_shown_as_given_even_through_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "real" / "DEMO.md"
    target.parent.mkdir()
    target.write_text("# Not a spec\n", encoding="utf-8")
    link = tmp_path / "link"
    link.symlink_to(target.parent, target_is_directory=True)
    run = ecmc("lint", "--format", "json", str(link / "DEMO.md"), str(target))
    paths = {d["path"] for d in json.loads(run.stdout)}
    assert paths == {str(link / "DEMO.md")}  # named twice, read once, shown as first named
