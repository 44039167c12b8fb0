"""`ecmc build` and `ecmc check` on throwaway copies of the project."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import ecm_contract
import pytest

import ecmc as compiler
from conftest import make_project, project_counts
from ecmc.commands.build import build
from ecmc.config import load_config
from ecmc.write.manifest import MANIFEST_NAME, generator_digest, load_manifest, package_files


def tree(root: Path) -> dict[str, bytes]:
    """What ecmc writes under `generated/`: the package and the manifest (not what else a
    project keeps there, such as a pyproject.toml or pip's egg-info)."""
    out = root / "generated"
    written = [*package_files(out, "selene_ecm"), MANIFEST_NAME]
    return {path: (out / path).read_bytes() for path in written if (out / path).is_file()}


def ecmc(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecmc", *args],
        cwd=cwd or root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "project", "selene_ecm", {})
    run = ecmc(root, "build")
    assert run.returncode == 0, run.stdout + run.stderr
    return root


def test_build_summary_and_idempotence(project: Path) -> None:
    first = tree(project)
    run = ecmc(project, "build")
    engines, capabilities, files = project_counts()
    summary, *warnings = run.stdout.strip().splitlines()
    assert summary == (
        f"ecmc: {engines} engines, {capabilities} capabilities; 0 files written, {files} unchanged"
    )
    # warnings are counted, not printed (the prose readings of the seeds, here)
    assert all(re.fullmatch(r"ecmc: \d+ warning\(s\); `ecmc lint` shows them", w) for w in warnings)
    assert len(warnings) <= 1
    assert tree(project) == first


def test_build_output_is_the_committed_package(project: Path) -> None:
    committed = tree(Path(__file__).resolve().parent.parent)
    built = tree(project)
    manifest = MANIFEST_NAME
    assert {k: v for k, v in built.items() if k != manifest} == {
        k: v for k, v in committed.items() if k != manifest
    }


def test_bytes_do_not_depend_on_the_working_directory(project: Path, tmp_path: Path) -> None:
    other = make_project(tmp_path / "elsewhere", "selene_ecm", {})
    run = ecmc(other, "build", cwd=other / "specs")
    assert run.returncode == 0, run.stderr
    assert tree(other) == tree(project)


def test_unchanged_engines_are_not_re_emitted(project: Path) -> None:
    spec = project / "specs" / "ecm" / "PH1_D.md"
    spec.write_text(spec.read_text().replace("Commit PH1.D chat output decision", "Chat"))
    _, report = build(load_config(project))
    assert report is not None
    assert report.rendered == [
        "selene_ecm/__init__.py",
        "selene_ecm/catalog.py",
        "selene_ecm/engines/__init__.py",
        "selene_ecm/engines/ph1_d.py",
        "selene_ecm/fields.py",
        "selene_ecm/py.typed",
    ]
    assert report.written == ["selene_ecm/engines/ph1_d.py"]


def test_build_with_errors_writes_nothing(project: Path) -> None:
    before = tree(project)
    spec = project / "specs" / "ecm" / "PH1_E.md"
    spec.write_text(
        spec.read_text().replace("`(tenant_id, correlation_id", "`(tenant, correlation_id")
    )
    run = ecmc(project, "build")
    assert run.returncode == 1
    assert "error[ECM021]: unknown field 'tenant'" in run.stdout
    assert "nothing written" in run.stderr
    assert tree(project) == before


def test_check_passes_on_a_fresh_build(project: Path) -> None:
    run = ecmc(project, "check")
    assert run.returncode == 0, run.stdout
    assert "up to date" in run.stdout


def test_check_catches_a_spec_edit(project: Path) -> None:
    spec = project / "specs" / "ecm" / "PH1_D.md"
    spec.write_text(spec.read_text().replace("Commit PH1.D chat output decision", "Chat"))
    run = ecmc(project, "check")
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0] == "generated/selene_ecm/engines/ph1_d.py: is out of date with the specs"
    assert '-    name="Commit PH1.D chat output decision",' in run.stdout
    assert '+    name="Chat",' in run.stdout
    assert lines[-1].endswith("run `ecmc build` to fix")


def test_check_catches_a_hand_edit(project: Path) -> None:
    target = project / "generated" / "selene_ecm" / "records.py"
    target.write_text(target.read_text() + "# patched by hand\n")
    run = ecmc(project, "check")
    assert run.returncode == 1
    assert "generated/selene_ecm/records.py: was edited by hand" in run.stdout
    assert "-# patched by hand" in run.stdout


def test_check_catches_a_deleted_file(project: Path) -> None:
    (project / "generated" / "selene_ecm" / "engines" / "ph1_e.py").unlink()
    run = ecmc(project, "check")
    assert run.returncode == 1
    assert "generated/selene_ecm/engines/ph1_e.py: is missing" in run.stdout


def test_check_catches_an_extra_file(project: Path) -> None:
    (project / "generated" / "selene_ecm" / "engines" / "notes.py").write_text("x = 1\n")
    run = ecmc(project, "check")
    assert run.returncode == 1
    assert "generated/selene_ecm/engines/notes.py: is not produced by the specs" in run.stdout
    assert ecmc(project, "build").returncode == 0  # build removes it
    assert not (project / "generated" / "selene_ecm" / "engines" / "notes.py").exists()
    assert ecmc(project, "check").returncode == 0


def test_check_catches_spec_errors(project: Path) -> None:
    spec = project / "specs" / "ecm" / "PH1_J.md"
    spec.write_text(spec.read_text().replace("`SELENE_OS_ONLY`", "`NOBODY_ONLY`", 1))
    run = ecmc(project, "check")
    assert run.returncode == 1
    assert "error[ECM032]" in run.stdout
    assert "the specs have errors" in run.stdout


def test_check_catches_a_changed_generator(project: Path) -> None:
    manifest = project / "generated" / MANIFEST_NAME
    manifest.write_text(manifest.read_text().replace('"generator": "', '"generator": "0', 1))
    run = ecmc(project, "check")
    assert run.returncode == 1
    assert "ecmc-manifest.json: is out of date" in run.stdout


@pytest.mark.parametrize("package", [compiler, ecm_contract], ids=lambda p: p.__name__)
def test_the_generator_digest_covers_the_compiler_and_its_contract(
    package: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The contract's version is written into every package: a new contract is a new build.
    copy = tmp_path / package.__name__
    shutil.copytree(Path(package.__file__ or "").parent, copy)
    monkeypatch.setattr(package, "__file__", str(copy / "__init__.py"))
    before = generator_digest()
    (copy / "__init__.py").write_text((copy / "__init__.py").read_text() + "\n# changed\n")
    assert generator_digest() != before


def test_manifest_records_every_input_and_output(project: Path) -> None:
    manifest = load_manifest(project / "generated")
    assert manifest is not None
    assert sorted(manifest.inputs) == sorted(
        p.relative_to(project).as_posix() for p in (project / "specs").rglob("*.md")
    )
    assert set(manifest.outputs) == set(tree(project)) - {MANIFEST_NAME}
