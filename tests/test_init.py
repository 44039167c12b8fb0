"""`ecmc init` (issue 12): a whole real system of ECM files and its migrations in, a service
repository out that builds with no error, type-checks, and passes its own contract tests on
SQLite and PostgreSQL; `--update` adds only what is new and keeps what a person edited."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from conftest import REFERENCE, REPO
from ecmc.cli import main
from ecmc.commands.init import InitReport, run_init, summary
from ecmc.pipeline import compile_texts
from storage import BACKENDS, PG_SERVER, backend_url, postgres_url

ADOPTION = REFERENCE / "adoption"
REFERENCE_ECM = ("ECM_PH1_J.md", "ECM_PH1_REM.md", "ECM_PH1_WORK.md")


def system(tmp: Path) -> Path:
    """The 10 adoption ECM files and the reference ECM files, in one directory."""
    if not ADOPTION.is_dir():
        pytest.skip(f"the adoption files are not at {ADOPTION}")
    ecm = tmp / "ecm"
    ecm.mkdir()
    for path in [*sorted((ADOPTION / "ECM").glob("*.md")), *(REFERENCE / n for n in REFERENCE_ECM)]:
        shutil.copy(path, ecm / path.name)
    return ecm


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, InitReport]:
    tmp = tmp_path_factory.mktemp("init")
    repo = tmp / "selene-service"
    wiring = [ADOPTION / "DB_WIRING"]
    return repo, run_init(repo, system(tmp), [ADOPTION / "migrations"], False, wiring=wiring)


def test_the_whole_system_builds_with_no_error(adopted: tuple[Path, InitReport]) -> None:
    repo, report = adopted
    assert report.errors == []
    assert report.program is not None
    ecm_only = compile_texts(
        {f"specs/ecm/{p.name}": p.read_text() for p in (repo.parent / "ecm").iterdir()}
    )
    declared = {c.id for e in ecm_only.program.engines for c in e.capabilities}
    assert len(report.program.engines) == len(ecm_only.program.engines) == 13
    assert {c.id for e in report.program.engines for c in e.capabilities} == declared
    catalog = (repo / "generated/selene_service_ecm/__init__.py").read_text()
    assert f"{len(declared)} capabilities" in catalog


def test_every_rule_drafts_and_the_summary_says_so(adopted: tuple[Path, InitReport]) -> None:
    _, report = adopted
    counts = report.counts
    for key in (
        "fields:convention",
        "fields:sql",
        "fields:default",
        "records:sql",
        "records:field",
        "records:opaque",
        "tables:sql",
        "schemas",
        "policies",
        "bindings:handler",
    ):
        assert counts[key] > 0, key
    rows = dict(summary(report))
    assert rows["engines"] == "13"
    assert rows["capabilities"] == str(sum(len(e.capabilities) for e in report.program.engines))
    assert "by sql" in rows["tables drafted"]
    assert int(rows["SQL statements not imported"]) > 0


def test_every_draft_is_marked_and_listed_by_lint(
    adopted: tuple[Path, InitReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = adopted
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["lint", "--format", "json"])
    listed = {(d["path"], d["line"]) for d in json.loads(result.output) if d["code"] == "ECM073"}
    marked = {
        (path.relative_to(repo).as_posix(), number)
        for path in [*(repo / "specs/wiring").glob("*.md"), *(repo / "specs/common").glob("*.md")]
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "inferred from" in line
    }
    # A bullet is listed at its own line, a `### entry` at its heading.
    missing = {m for m in marked if m not in listed and (m[0], _entry_line(repo, m)) not in listed}
    assert listed and marked and missing == set()


def _entry_line(repo: Path, at: tuple[str, int]) -> int:
    """The line of the `### ` heading a line belongs to."""
    lines = (repo / at[0]).read_text().splitlines()[: at[1]]
    return max((i for i, line in enumerate(lines, start=1) if line.startswith("### ")), default=0)


def test_the_generated_package_passes_mypy_strict(adopted: tuple[Path, InitReport]) -> None:
    repo, _ = adopted
    env = {
        **os.environ,
        "MYPYPATH": os.pathsep.join([str(REPO / "runtime"), str(REPO / "compiler")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "generated/selene_service_ecm"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def scaffold_pytest(
    repo: Path, url: str | None, more: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(repo / "generated"), **(more or {})}
    env.pop("ECM_TEST_SERVER_URL", None)
    if url is not None:
        env["ECM_TEST_SERVER_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_scaffold_tests_pass_on_sqlite(adopted: tuple[Path, InitReport]) -> None:
    repo, report = adopted
    done = scaffold_pytest(repo, None)
    assert done.returncode == 0, done.stdout[-3000:]
    assert report.program is not None
    caps = sum(len(e.capabilities) for e in report.program.engines)
    counts = dict(
        (kind, int(n)) for n, kind in re.findall(r"(\d+) (passed|skipped|failed)", done.stdout)
    )
    total = 3 * caps + len(report.checks)
    assert counts.get("passed", 0) + counts.get("skipped", 0) == total, done.stdout[-2000:]
    # A capability whose handler is unwritten is skipped with that reason, never passed.
    handlers = [
        c.id
        for e in report.program.engines
        for c in e.capabilities
        if not any(
            b.capability_id == c.id and b.operation != "handler" for b in report.program.bindings
        )
    ]
    reasons = re.findall(r"SKIPPED \[\d+\] .*?: (.*)", done.stdout)
    assert sum("handler is not implemented" in r for r in reasons) == len(handlers)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_wiring_acceptance_tests_run_where_bound(
    adopted: tuple[Path, InitReport], backend: str
) -> None:
    """Every acceptance test of the DB wiring documents is generated; those the runtime's
    guarantees cover run (and pass) where their engine binds what shows them; every other
    is skipped with its reason, never passed."""
    repo, report = adopted
    kinds = {c.kind for c in report.checks}
    assert len(report.checks) == 78 and {"tenant", "append_only", "idempotency"} <= kinds
    url = None
    for server in postgres_url() if backend == "postgresql" else [None]:
        url = PG_SERVER if server else None
    done = acceptance_pytest(repo, url)
    assert done.returncode == 0, done.stdout[-3000:]
    passed = int(re.search(r"(\d+) passed", done.stdout).group(1))  # type: ignore[union-attr]
    skipped = re.findall(r"SKIPPED \[(\d+)\] [^:]+:\d+: (.+)", done.stdout)
    assert passed >= 5 and passed + sum(int(n) for n, _ in skipped) == len(report.checks)
    others = sum(int(n) for n, why in skipped if "proves more than storage" in why)
    assert others == sum(1 for c in report.checks if c.kind == "other")


def acceptance_pytest(repo: Path, url: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(repo / "generated")}
    env.pop("ECM_TEST_SERVER_URL", None)
    if url is not None:
        env["ECM_TEST_SERVER_URL"] = url
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*command, "tests/test_acceptance.py"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_scaffold_tests_pass_on_postgresql(adopted: tuple[Path, InitReport]) -> None:
    repo, _ = adopted
    for _ in postgres_url():  # skips (or fails in CI) when the server is unreachable
        done = scaffold_pytest(repo, PG_SERVER)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
    with sa.create_engine(PG_SERVER).connect() as connection:  # its database is gone
        left = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_database WHERE starts_with(datname, 'ecm_scaffold_test_')"
        ).scalar_one()
    assert left == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_scaffold_tests_never_touch_the_services_database(
    adopted: tuple[Path, InitReport], backend: str, tmp_path: Path
) -> None:
    """Pointed at the service's own database (`ECM_DATABASE_URL`, which the service reads),
    the scaffold's tests leave every table and row of it as it was."""
    repo, _ = adopted
    for url in backend_url(backend, tmp_path):
        service = sa.create_engine(url)
        with service.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE audit_events (event_id INT, note TEXT)")
            connection.exec_driver_sql("INSERT INTO audit_events VALUES (1, 'production row')")
        env_done = scaffold_pytest(repo, None, {"ECM_DATABASE_URL": url})
        assert env_done.returncode == 0, env_done.stdout[-3000:]
        with service.connect() as connection:
            rows = connection.exec_driver_sql("SELECT * FROM audit_events").all()
        service.dispose()
        assert [tuple(r) for r in rows] == [(1, "production row")]


def test_the_scaffold_has_what_a_service_repo_needs(adopted: tuple[Path, InitReport]) -> None:
    repo, _ = adopted
    pyproject = (repo / "pyproject.toml").read_text()
    assert "[tool.ecmc]" in pyproject and 'package = "selene_service_ecm"' in pyproject
    assert re.search(r'dependencies = \["ecmc[ >@]', pyproject)
    assert "file:" not in pyproject  # no path of this machine
    ignored = (repo / ".gitignore").read_text().splitlines()
    assert ".venv/" in ignored and "*.sqlite3" in ignored
    readme = (repo / "README.md").read_text().split("```sh\n")[1].split("```")[0].splitlines()
    assert readme[0].endswith("ecmc build") and readme[1].endswith("pytest -q")
    assert os.access(repo / ".ci/run", os.X_OK)
    assert sorted(p.name for p in (repo / "specs/ecm").iterdir()) == sorted(
        p.name for p in (repo.parent / "ecm").iterdir()
    )


def test_update_adds_only_what_is_new_and_keeps_edits(tmp_path: Path) -> None:
    ecm = system(tmp_path)
    held_back = ecm / "PH1_W.md"
    kept = tmp_path / "PH1_W.md"
    shutil.move(held_back, kept)
    repo = tmp_path / "svc"
    run_init(repo, ecm, [ADOPTION / "migrations"], update=False)
    fields = repo / "specs/common/fields.md"
    edited = fields.read_text().replace(
        "— inferred from 0010_ph1k_audio_runtime_tables.sql", "— confirmed: from 0010"
    )
    fields.write_text(edited)

    again = run_init(repo, ecm, [ADOPTION / "migrations"], update=True)
    assert again.added == [] and again.errors == []
    assert fields.read_text() == edited

    shutil.move(kept, ecm / "PH1_W.md")
    grown = run_init(repo, ecm, [ADOPTION / "migrations"], update=True)
    assert grown.errors == []
    assert any(a.startswith("specs/wiring/PH1_W.md") or "PH1_W" in a for a in grown.written)
    assert fields.read_text().startswith(edited.rstrip("\n").split("\n## Fields")[0])
    assert "confirmed: from 0010" in fields.read_text()
    assert any(e.engine_id == "PH1.W" for e in grown.program.engines)  # type: ignore[union-attr]


def test_init_refuses_an_existing_repo_without_update(tmp_path: Path) -> None:
    ecm = system(tmp_path)
    (tmp_path / "svc" / "specs").mkdir(parents=True)
    result = CliRunner().invoke(main, ["init", str(tmp_path / "svc"), "--from", str(ecm)])
    assert result.exit_code == 2
    assert "--update" in result.output


def test_init_prints_skipped_sql_and_the_summary(tmp_path: Path) -> None:
    ecm = system(tmp_path)
    result = CliRunner().invoke(
        main,
        ["init", str(tmp_path / "svc"), "--from", str(ecm), "--sql", str(ADOPTION / "migrations")],
    )
    assert result.exit_code == 0, result.output
    assert re.search(
        r"^0009_\S+\.sql:35: warning: SQL not imported \(a check of", result.output, re.M
    )
    assert re.search(r"^  handlers left to implement +\d+$", result.output, re.M)
    assert re.search(r"^  tables drafted +\d+ by placeholder, \d+ by sql$", result.output, re.M)


def test_the_seed_ecm_files_alone_adopt_cleanly(tmp_path: Path) -> None:
    """ECM files seen here only as ECM: the project's own, without their companion specs."""
    report = run_init(tmp_path / "svc", REPO / "specs/ecm", [], update=False)
    assert report.errors == []
    assert report.program is not None
    expected = compile_texts(
        {f"specs/ecm/{p.name}": p.read_text() for p in (REPO / "specs/ecm").glob("*.md")}
    ).program
    assert {c.id for e in report.program.engines for c in e.capabilities} == {
        c.id for e in expected.engines for c in e.capabilities
    }


def test_markdown_that_is_no_ecm_spec_is_left_out_and_named(tmp_path: Path) -> None:
    ecm = system(tmp_path)
    (ecm / "README.md").write_text("# The engine maps\n\nOne file per engine.\n")
    (ecm / "BINARY.md").write_bytes(b"\xff\xfe\x00 not text")
    result = CliRunner().invoke(main, ["init", str(tmp_path / "svc"), "--from", str(ecm)])
    assert result.exit_code == 0, result.output
    assert re.search(r"README\.md: warning: not an ECM spec", result.output)
    assert re.search(r"BINARY\.md: warning: not an ECM spec", result.output)
    assert not (tmp_path / "svc/specs/ecm/README.md").exists()


def test_a_folder_without_any_ecm_spec_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/README.md").write_text("# nothing here\n")
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "svc"), "--from", str(tmp_path / "docs")]
    )
    assert result.exit_code == 2 and "is an ECM spec" in result.output
    assert not (tmp_path / "svc").exists()
