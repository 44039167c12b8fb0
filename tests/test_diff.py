"""`ecmc diff` (issue 15): one snapshot per rule, from a pair of tiny spec trees (before and
after one edit); a spec diffed against itself reports nothing; approvals in the spec let a
change pass and a stale approval is a warning; the command on a git repository exits 1 on an
unapproved breaking or security-relevant change and 0 on a safe one."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from conftest import project_specs
from ecmc.cli import main
from ecmc.diff.compare import compare
from ecmc.diff.report import judge, render_human
from ecmc.pipeline import compile_texts

TINY = Path(__file__).parent / "diff_specs"
Texts = dict[str, str]


def tiny() -> Texts:
    return {f"specs/{p.name}": p.read_text(encoding="utf-8") for p in sorted(TINY.glob("*.md"))}


def edit(path: str, old: str, new: str) -> Callable[[Texts], Texts]:
    def apply(texts: Texts) -> Texts:
        assert old in texts[path], f"{old!r} is not in {path}"
        return {**texts, path: texts[path].replace(old, new, 1)}

    return apply


def both(*edits: Callable[[Texts], Texts]) -> Callable[[Texts], Texts]:
    def apply(texts: Texts) -> Texts:
        for one in edits:
            texts = one(texts)
        return texts

    return apply


ECM, FIELDS, WIRING = "specs/ecm.md", "specs/fields.md", "specs/wiring.md"
READ_BLOCK = (
    "### `PH1T_READ`\n- `name`: read a state\n- `input_schema`: `(tenant_id, note?)`\n"
    "- `output_schema`: `(tenant_id, status)`\n- `allowed_callers`: `OS_ONLY`\n"
    "- `side_effects`: `NONE`\n\n"
)
READ_BINDING = (
    "### `PH1T_READ`\n- `operation`: `read_one`\n- `table`: `t_current`\n"
    "- `lookup`: `(tenant_id)`\n\n"
)
EDITS: dict[str, Callable[[Texts], Texts]] = {
    "capability_removed": both(edit(ECM, READ_BLOCK, ""), edit(WIRING, READ_BINDING, "")),
    "required_input_added": edit(ECM, "`(tenant_id, note?)`", "`(tenant_id, note?, count)`"),
    "input_narrowed": edit(FIELDS, "`int[0..10]`", "`int[0..5]`"),
    "output_field_removed": edit(ECM, "`(tenant_id, status)`", "`(tenant_id)`"),
    "reason_code_removed": edit(ECM, "- `PH1T_FAIL_TWO`\n", ""),
    "audit_key_dropped": edit(ECM, "  - `count`\n", ""),
    "callers_widened": edit(
        ECM, "`OS_ONLY`\n- `side_effects`: `NONE`", "`OS_OR_AUDITOR`\n- `side_effects`: `NONE`"
    ),
    "side_effects_widened": both(
        edit(ECM, "- `side_effects`: `NONE`", "- `side_effects`: `DECLARED (DB_WRITE)`"),
        edit(ECM, "- `PH1T_WRITE` emits", "- `PH1T_WRITE` and `PH1T_READ` emit"),
        edit(WIRING, READ_BINDING, ""),
    ),
    "column_removed": edit(
        WIRING, "`(row_seq, tenant_id, count, note?)`", "`(row_seq, tenant_id, count)`"
    ),
    "not_null_column_added": edit(
        WIRING,
        "`(tenant_id, status)`\n- `primary_key`",
        "`(tenant_id, status, count)`\n- `primary_key`",
    ),
    "unique_key_changed": edit(
        WIRING,
        "`ux_t_current_status`: `(tenant_id, status)`",
        "`ux_t_current_status`: `(status, tenant_id)`",
    ),
    "ledger_truth_changed": both(
        edit(WIRING, "- `truth_type`: `LEDGER`", "- `truth_type`: `CURRENT`"),
        edit(WIRING, "- `operation`: `append`\n- `table`: `t_ledger`", "- `operation`: `handler`"),
    ),
    "tenant_scope_dropped": edit(
        WIRING,
        "- `primary_key`: `(tenant_id)`\n- `tenant_column`: `tenant_id`",
        "- `primary_key`: `(tenant_id)`\n- `scope`: `GLOBAL`",
    ),
    "optional_input_added": edit(ECM, "`(tenant_id, note?)`", "`(tenant_id, note?, count?)`"),
    "input_widened": edit(FIELDS, "`int[0..10]`", "`int[0..20]`"),
    "capability_added": edit(
        ECM,
        "## Failure Modes",
        "### `PH1T_PING`\n- `name`: ping\n"
        "- `input_schema`: `(tenant_id)`\n- `output_schema`: `(tenant_id)`\n"
        "- `allowed_callers`: `OS_ONLY`\n- `side_effects`: `NONE`\n\n"
        "## Failure Modes",
    ),
    "reason_code_added": edit(ECM, "- `PH1T_FAIL_TWO`\n", "- `PH1T_FAIL_TWO`\n- `PH1T_FAIL_NEW`\n"),
    "nullable_column_added": edit(
        WIRING,
        "`(row_seq, tenant_id, count, note?)`",
        "`(row_seq, tenant_id, count, note?, status?)`",
    ),
    "reworded_only": edit(ECM, "a tiny engine for diff tests", "a tiny engine, reworded"),
    # What the runtime does, from the lowered catalogs: bindings, roles, event types.
    "operation_changed": edit(WIRING, "- `operation`: `read_one`", "- `operation`: `read_many`"),
    "audit_event_dropped": edit(
        WIRING, "- `event_type`: `COUNT_WRITTEN`", "- `event_type`: `NONE`"
    ),
    "success_code_changed": edit(
        WIRING, "- `reason_code`: `PH1T_OK_WRITE`", "- `reason_code`: `PH1T_FAIL_TWO`"
    ),
    "role_changed": edit(
        WIRING, "- `scope_violation`: `PH1T_FAIL_SCOPE`", "- `scope_violation`: `PH1T_FAIL_ONE`"
    ),
    "role_removed": edit(WIRING, "- `idempotency_replay`: `PH1T_FAIL_ONE`\n", ""),
    "event_payload_narrowed": edit(
        WIRING, "`payload_keys`: `(tenant_id, count, note)`", "`payload_keys`: `(tenant_id, count)`"
    ),
    "event_severity_changed": edit(WIRING, "- `severity`: `INFO`", "- `severity`: `WARN`"),
    "event_type_added": edit(
        WIRING,
        "## Reason Code Roles",
        "### `COUNT_READ`\n- `severity`: `INFO`\n- `payload_keys`: `(tenant_id)`\n\n"
        "## Reason Code Roles",
    ),
}


def diff(before: Texts, after: Texts) -> tuple[str, bool]:
    old, new = compile_texts(dict(before)), compile_texts(dict(after))
    for result in (old, new):
        assert [d for d in result.diagnostics if d.severity == "error"] == []
    judged = judge(compare(old.program, new.program), new.program)
    return render_human(judged), any(item.failing for item in judged)


@pytest.mark.parametrize("name", sorted(EDITS))
def test_each_rule(name: str, snapshot: SnapshotAssertion) -> None:
    base = tiny()
    report, failing = diff(base, EDITS[name](base))
    assert (report, failing) == snapshot


def test_a_removed_lifecycle_transition_is_breaking() -> None:
    base = {k: v if isinstance(v, str) else v.decode() for k, v in project_specs().items()}
    after = edit(
        "specs/wiring/PH1_CAPREQ.md",
        "- `from`: `(DRAFT, PENDING_APPROVAL, APPROVED)`",
        "- `from`: `(DRAFT, PENDING_APPROVAL)`",
    )(base)
    report, failing = diff(base, after)
    assert failing and "error[ECMD007]" in report
    assert "no longer has CANCEL: APPROVED -> CANCELED" in report


@settings(max_examples=25, deadline=None)
@given(st.sets(st.sampled_from(sorted(EDITS))))
def test_a_spec_diffed_against_itself_reports_nothing(names: set[str]) -> None:
    texts = tiny()
    for name in sorted(names):
        try:
            texts = EDITS[name](texts)
        except AssertionError:
            continue  # an earlier edit took this one's text away
    result = compile_texts(dict(texts))
    assert compare(result.program, result.program) == []


APPROVAL = (
    "- `status`: `ACTIVE`\n- `approved_changes`:\n"
    "  - `ECMD001` `PH1T_READ`: callers moved to PH1T_PING (ticket 7)\n"
)


def test_an_approval_in_the_spec_lets_the_change_pass() -> None:
    base = tiny()
    after = edit(ECM, "- `status`: `ACTIVE`\n", APPROVAL)(EDITS["capability_removed"](base))
    report, failing = diff(base, after)
    assert not failing
    assert "warning[ECMD001]" in report and "approved at specs/ecm.md:10: callers moved" in report


def test_an_approval_that_matches_nothing_is_a_warning() -> None:
    base = tiny()
    report, failing = diff(base, edit(ECM, "- `status`: `ACTIVE`\n", APPROVAL)(base))
    assert not failing
    assert "warning[ECMD299]: approval of ECMD001 PH1T_READ matches no change" in report


# --- the command on a git repository ----------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "svc"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.ecmc]\nspecs = "specs"\npackage = "svc_ecm"\n')
    for path, text in tiny().items():
        (root / path).write_text(text)
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base"],
    ):
        subprocess.run(command, cwd=root, check=True)
    monkeypatch.chdir(root)
    return root


def apply(root: Path, name: str) -> None:
    texts = EDITS[name](tiny())
    for path, text in texts.items():
        (root / path).write_text(text)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("capability_removed", "ECMD001"),
        ("required_input_added", "ECMD002"),
        ("reason_code_removed", "ECMD005"),
        ("audit_key_dropped", "ECMD006"),
        ("callers_widened", "ECMD101"),
    ],
)
def test_diff_head_fails_on_a_breaking_change(repo: Path, name: str, rule: str) -> None:
    apply(repo, name)
    result = CliRunner().invoke(main, ["diff", "HEAD"])
    assert result.exit_code == 1, result.output
    assert f"error[{rule}]" in result.output


@pytest.mark.parametrize("name", ["optional_input_added", "capability_added"])
def test_diff_head_passes_a_safe_change(repo: Path, name: str) -> None:
    apply(repo, name)
    result = CliRunner().invoke(main, ["diff", "HEAD"])
    assert result.exit_code == 0, result.output


def test_diff_head_passes_an_approved_change_and_speaks_json(repo: Path) -> None:
    apply(repo, "capability_removed")
    ecm = repo / ECM
    ecm.write_text(ecm.read_text().replace("- `status`: `ACTIVE`\n", APPROVAL, 1))
    assert CliRunner().invoke(main, ["diff", "HEAD"]).exit_code == 0
    result = CliRunner().invoke(main, ["diff", "HEAD", "--format", "json"])
    assert '"rule": "ECMD001"' in result.output and '"failing": false' in result.output


def test_diff_against_a_directory_and_a_bad_base(repo: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    (old / "specs").mkdir(parents=True)
    for path, text in tiny().items():
        (old / path).write_text(text)
    apply(repo, "callers_widened")
    assert CliRunner().invoke(main, ["diff", str(old / "specs")]).exit_code == 1
    bad = CliRunner().invoke(main, ["diff", "no-such-revision"])
    assert bad.exit_code == 2 and "ecmc: error:" in bad.output
