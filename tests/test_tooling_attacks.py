"""The tools against a hostile or strange project (issue 24, items 10 to 15): the drift gate
cannot be fooled in CI, `ecmc diff` fails closed, `ecmc init` writes inside DIR only and
copies what it is given, what build accepts Python imports, what lint accepts the runtime
runs, and no input makes a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REFERENCE, SPECS, compile_with_project, make_project
from ecmc.cli import main
from ecmc.write.manifest import digest_file
from ecmc.write.verify import problems
from test_cli import ecmc
from test_diff import apply, repo

__all__ = ["repo"]  # the diff tests' git repository fixture


def no_traceback(run: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in run.stdout + run.stderr, run.stdout + run.stderr


# --- item 10: the drift gate --------------------------------------------------------------


def test_a_hand_edit_with_a_forged_manifest_fails_the_ci_check(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "forged_ecm", {})
    assert ecmc("build", cwd=root).returncode == 0
    out = root / "generated"
    catalog = out / "forged_ecm" / "catalog.py"
    catalog.write_text(catalog.read_text() + "\nFORGED = True\n")
    manifest = json.loads((out / "ecmc-manifest.json").read_text())
    manifest["outputs"]["forged_ecm/catalog.py"]["digest"] = digest_file(catalog)
    (out / "ecmc-manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    local = ecmc("check", cwd=root, env={"CI": ""})
    assert local.returncode == 0 and "fast path" in local.stdout  # says what it did not do
    for run in (ecmc("check", cwd=root, env={"CI": "true"}), ecmc("check", "--strict", cwd=root)):
        assert run.returncode == 1, run.stdout
        assert "generated/forged_ecm/catalog.py: is out of date" in run.stdout  # the forged one


# --- item 11: diff fails closed -----------------------------------------------------------


def test_diff_without_a_main_branch_is_a_usage_error(repo: Path) -> None:
    subprocess.run(["git", "branch", "-m", "feature"], cwd=repo, check=True)
    apply(repo, "capability_removed")
    result = CliRunner().invoke(main, ["diff"])
    assert result.exit_code == 2 and "no main branch" in result.output


def test_diff_in_a_shallow_clone_is_a_usage_error(repo: Path, tmp_path: Path) -> None:
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "branch", "-m", "main"], cwd=repo, check=True)
    subprocess.run(["git", "checkout", "-qb", "topic"], cwd=repo, check=True)
    (repo / "notes.txt").write_text("one\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "topic"], cwd=repo, check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)
    (repo / "other.txt").write_text("two\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "main moves on"], cwd=repo, check=True)
    clone = tmp_path / "clone"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            "topic",
            "--no-single-branch",
            f"file://{repo}",
            str(clone),
        ],
        check=True,
    )
    run = ecmc("diff", cwd=clone)
    no_traceback(run)
    assert run.returncode == 2 and "shallow" in run.stderr


def test_a_base_directory_without_specs_is_a_usage_error(repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["diff", str(empty)])
    assert result.exit_code == 2 and "holds no spec" in result.output


# --- item 12: init writes inside DIR only ---------------------------------------------------


def ecm_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ecm"
    folder.mkdir()
    (folder / "ECM_PH1_J.md").write_bytes((REFERENCE / "ECM_PH1_J.md").read_bytes())
    return folder


@pytest.mark.parametrize("link", ["README.md", "pyproject.toml", ".ci", "tests", "specs"])
def test_init_never_follows_a_symlink_out_of_dir(tmp_path: Path, link: str) -> None:
    if not REFERENCE.is_dir():
        pytest.skip("the reference ECM files are not here")
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    (repo / link).symlink_to(outside / "target")  # dangling: init would create the target
    run = ecmc("init", str(repo), "--from", str(ecm_folder(tmp_path)), cwd=tmp_path)
    no_traceback(run)
    assert run.returncode == 2 and "symbolic link" in run.stderr
    assert list(outside.iterdir()) == []


def test_init_update_never_writes_through_a_symlinked_spec(tmp_path: Path) -> None:
    if not REFERENCE.is_dir():
        pytest.skip("the reference ECM files are not here")
    folder = ecm_folder(tmp_path)
    repo = tmp_path / "repo"
    assert ecmc("init", str(repo), "--from", str(folder), cwd=tmp_path).returncode in (0, 1)
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text("mine\n")
    spec = repo / "specs" / "ecm" / "ECM_PH1_J.md"
    spec.unlink()
    spec.symlink_to(elsewhere)
    run = ecmc("init", str(repo), "--from", str(folder), "--update", cwd=tmp_path)
    assert run.returncode == 2 and "symbolic link" in run.stderr
    assert elsewhere.read_text() == "mine\n"


def test_init_copies_an_ecm_file_byte_for_byte(tmp_path: Path) -> None:
    if not REFERENCE.is_dir():
        pytest.skip("the reference ECM files are not here")
    folder = ecm_folder(tmp_path)
    given = (REFERENCE / "ECM_PH1_J.md").read_bytes().replace(b"audit", b"aud\xff\xfeit", 1)
    (folder / "ECM_PH1_J.md").write_bytes(given)
    repo = tmp_path / "repo"
    run = ecmc("init", str(repo), "--from", str(folder), cwd=tmp_path)
    no_traceback(run)
    assert (repo / "specs" / "ecm" / "ECM_PH1_J.md").read_bytes() == given
    assert "ECM001" in run.stdout  # the build says it is not UTF-8, where


def test_sql_names_and_file_names_are_never_markup_in_drafts(tmp_path: Path) -> None:
    from ecmc.adopt.drafts import table_entry
    from ecmc.adopt.sql import read_migrations

    sql = tmp_path / "0001_x`\nline.sql"
    sql.write_text(
        'CREATE TABLE "odd`table" (id BIGSERIAL PRIMARY KEY);\n'
        "CREATE TABLE plain_ledger (event_id BIGSERIAL PRIMARY KEY, "
        '"bad`col" TEXT, tenant_id TEXT NOT NULL);\n'
    )
    schema = read_migrations([sql])
    assert set(schema.tables) == {"plain_ledger"}
    assert list(schema.tables["plain_ledger"].columns) == ["event_id", "tenant_id"]
    entry = table_entry(schema.tables["plain_ledger"])
    assert "\nline" not in entry and "x`" not in entry
    assert all("snake_case" in s.why for s in schema.skipped if "`" in s.statement)


def test_a_file_past_the_size_limit_is_left_out_by_its_size(tmp_path: Path) -> None:
    if not REFERENCE.is_dir():
        pytest.skip("the reference ECM files are not here")
    folder = ecm_folder(tmp_path)
    (folder / "HUGE.md").write_bytes(b"# Huge\n\n" + b"- `x`: y\n" * 5_600_000)  # 50 MB
    run = ecmc("init", str(tmp_path / "repo"), "--from", str(folder), cwd=tmp_path)
    no_traceback(run)
    assert "HUGE.md: warning: larger than" in run.stdout


# --- item 13: what build accepts, Python imports -------------------------------------------


def test_spec_text_that_would_break_python_builds_a_package_that_imports(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "p", "odd_ecm", {})
    wiring = root / "specs" / "wiring" / "PH1_J.md"
    wiring.write_text(
        wiring.read_text().replace(
            "- `description`: Every refused or failed call;", '- `description`: ends """ \\ "', 1
        )
    )
    fields = root / "specs" / "common" / "fields.md"
    fields.write_text(
        fields.read_text().replace(
            "## Fields\n", "## Fields\n- `json_limits`: `string[1..9]` — named as an import\n", 1
        )
    )
    ecm = root / "specs" / "ecm" / "PH1_J.md"
    ecm.write_text(
        ecm.read_text().replace(
            "- `input_schema`: `correlation_id`",
            "- `input_schema`: `(correlation_id, json_limits?)`",
            1,
        )
    )
    run = ecmc("build", cwd=root)
    assert run.returncode == 0, run.stdout + run.stderr
    imported = subprocess.run(
        [sys.executable, "-c", "import odd_ecm.engines.ph1_j, odd_ecm.records"],
        cwd=root / "generated",
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr


def test_the_lock_behind_the_emitters_finds_what_would_not_import() -> None:
    assert problems('x = """unterminated\n')[0][1].startswith("would not compile")
    assert (
        "binds 'JsonLimits' again"
        in problems("from ecm_runtime.models import JsonLimits\nJsonLimits = int\n")[0][1]
    )
    assert "binds 'a' again" in problems("class M:\n    a: int\n    a: str\n")[0][1]
    assert problems("import typing as t\nX = t.Any\n") == []


@pytest.mark.parametrize(
    "package", ["a.b", 'x"); import os; os.system("echo pwned"); ("', "1abc", "class", "dé"]
)
def test_a_package_name_that_is_no_identifier_is_a_usage_error(
    tmp_path: Path, package: str
) -> None:
    root = make_project(tmp_path / "p", "placeholder", {})
    (root / "pyproject.toml").write_text(f"[tool.ecmc]\npackage = {json.dumps(package)}\n")
    for command in (["build"], ["check"], ["lint"], ["docs"], ["migrations", "init"]):
        run = ecmc(*command, cwd=root)
        no_traceback(run)
        assert run.returncode == 2 and "is not a Python identifier" in run.stderr, command
    assert not (root / "migrations").exists()


def test_a_malformed_pyproject_is_an_error_with_its_line(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "placeholder", {})
    (root / "pyproject.toml").write_text('[tool.ecmc]\npackage = "x"\nspecs = \n')
    run = ecmc("build", cwd=root)
    assert run.returncode == 2 and "line 3" in run.stderr
    assert not (root / "generated").exists()


VARIANTS = """# PH1.CAPREQ Variant Mistakes

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `PH1.CAPREQ`

## Records

### `OddRequest`
- `fields`: `(tenant_id)`

#### `shouting_v1`
- `action`: `APPROVE`
- `ACTION`: `FULFILL`

#### `dashed_v1`
- `not-an-identifier`: `x`
"""


def test_variant_keys_that_cannot_be_attributes_are_errors() -> None:
    result = compile_with_project({"specs/wiring/ODD.md": VARIANTS})
    found = [(d.code, d.message) for d in result.diagnostics if d.severity == "error"]
    assert any("'ACTION' is the same name as 'action'" in m for _, m in found), found
    assert any("'not-an-identifier' is not a snake_case name" in m for _, m in found), found


def test_a_variant_action_that_contradicts_the_lifecycle_is_an_error() -> None:
    wiring = (SPECS / "wiring" / "PH1_CAPREQ.md").read_text()
    contradicted = wiring.replace(
        "#### `submit_for_approval_commit_v1`\n- `action`: `SUBMIT_FOR_APPROVAL`",
        "#### `submit_for_approval_commit_v1`\n- `action`: `FULFILL`",
    )
    unmapped = wiring.replace("- `capability`: `PH1CAPREQ_FULFILL_EXECUTE`\n", "")
    for text, expected in (
        (contradicted, "says action 'FULFILL', but lifecycle capreq maps"),
        (unmapped, "but none of its actions name it"),
    ):
        result = compile_with_project({"specs/wiring/PH1_CAPREQ.md": text})
        messages = [d.message for d in result.diagnostics if d.code == "ECM057"]
        assert any(expected in m for m in messages), messages


# --- item 14: what lint accepts, the runtime runs --------------------------------------------


def test_audit_keys_an_event_type_does_not_allow_are_a_located_error() -> None:
    ecm = (SPECS / "ecm" / "PH1_CAPREQ.md").read_text()
    wiring = (SPECS / "wiring" / "PH1_CAPREQ.md").read_text()
    # The engine's transitions emit the shared STATE_TRANSITION (state_from, state_to) and
    # the spec lists audit keys its input carries.
    wiring = wiring.replace(
        "### `STATE_TRANSITION`\n- `severity`: `INFO`\n"
        "- `description`: A capability request moved through its lifecycle.\n",
        "",
    )
    ecm = ecm.replace(
        "## Audit Emission Requirements Per Capability",
        "## Audit Emission Requirements Per Capability\n"
        "- `PH1CAPREQ_CREATE_DRAFT_EXECUTE`: required; keys `capreq_id`, `requester_user_id`",
        1,
    )
    result = compile_with_project(
        {"specs/ecm/PH1_CAPREQ.md": ecm, "specs/wiring/PH1_CAPREQ.md": wiring}
    )
    refused = [d for d in result.diagnostics if "every call would be refused" in d.message]
    assert refused and refused[0].code == "ECM065"
    assert refused[0].span.path == "specs/wiring/PH1_CAPREQ.md"


# --- item 15: no tracebacks -------------------------------------------------------------------


@pytest.mark.parametrize("command", [["lint"], ["inspect"], ["build"], ["docs"], ["diff", "HEAD"]])
def test_a_type_a_thousand_lists_deep_is_a_diagnostic(tmp_path: Path, command: list[str]) -> None:
    root = make_project(tmp_path / "p", "deep_ecm", {})
    ecm = root / "specs" / "ecm" / "PH1_J.md"
    ecm.write_text(
        ecm.read_text().replace(
            "- `input_schema`: `correlation_id`",
            "- `input_schema`: `correlation_id" + "[]" * 1000 + "`",
            1,
        )
    )
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    run = ecmc(*command, cwd=root)
    no_traceback(run)
    assert run.returncode in (1, 2)


@pytest.mark.parametrize("command", [["docs"], ["diff"], ["migrations", "init"]])
def test_a_command_outside_a_project_says_so(tmp_path: Path, command: list[str]) -> None:
    run = ecmc(*command, cwd=tmp_path)
    no_traceback(run)
    assert run.returncode == 2 and "needs a project" in run.stderr
    assert not (tmp_path / "migrations").exists()


def test_docs_in_markdown_show_spec_html_as_text(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "docs_ecm", {})
    ecm = root / "specs" / "ecm" / "PH1_J.md"
    text = ecm.read_text()
    purpose = next(line for line in text.splitlines() if line.startswith("- `purpose`:"))
    ecm.write_text(
        text.replace(purpose, "- `purpose`: <script>alert(1)</script> [x](javascript:y)")
    )
    run = ecmc("docs", "--format", "markdown", "--out", str(tmp_path / "md"), cwd=root)
    assert run.returncode == 0, run.stderr
    page = next((tmp_path / "md" / "engines").glob("ph1_j*.md")).read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "](javascript:" not in page
