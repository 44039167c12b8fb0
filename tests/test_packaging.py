"""The distribution users install: the compiler and the runtime, never this repository's own
generated package. Built as a wheel, installed into a fresh virtual environment, used as a
user would: `ecmc build` of their own specs, then import and run what it wrote."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, make_project

ECM = """# DEMO.NOTES ECM Spec

## Engine Header
- `engine_id`: `DEMO.NOTES`
- `purpose`: Keep short notes per tenant.
- `data_owned`: `demo_notes`
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `NOTES_APPEND_NOTE`
- `name`: Append a note
- `input_schema`: `(now, tenant_id, note_text)`
- `output_schema`: `Result<note_row_id, StorageError>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `DECLARED (DB_WRITE)`

### `NOTES_READ_NOTES`
- `name`: Read a tenant's notes
- `input_schema`: `tenant_id`
- `output_schema`: `Vec<NoteRow>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

## Failure Modes + Reason Codes
- contract: `NOTES_CONTRACT_VALIDATION_FAILED`
- written: `NOTES_OK`

## Audit Emission Requirements Per Capability
- write capabilities emit PH1.J audit events with bounded keys:
  - `note_text`
"""
WIRING = """# DEMO.NOTES Wiring

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `DEMO.NOTES`

## Tables

### `demo_notes`
- `truth_type`: `LEDGER`
- `columns`: `(note_row_id, tenant_id, note_text, created_at)`
- `primary_key`: `note_row_id`
- `identity`: `note_row_id`
- `tenant_column`: `tenant_id`

## Records

### `NoteRow`
- `row_of`: `demo_notes`

## Audit Event Types

### `NOTE_WRITTEN`

## Capability Bindings

### `NOTES_APPEND_NOTE`
- `operation`: `append`
- `table`: `demo_notes`
- `fill`: `(created_at=now)`
- `event_type`: `NOTE_WRITTEN`
- `reason_code`: `NOTES_OK`

### `NOTES_READ_NOTES`
- `operation`: `read_many`
- `table`: `demo_notes`
- `lookup`: `tenant_id`

## Reason Code Roles
- `contract_validation`: `NOTES_CONTRACT_VALIDATION_FAILED`
"""
FIELDS = """# Note Fields

## Spec Header
- `kind`: `FIELD_DICTIONARY`

## Fields
- `note_text`: `string[1..200]` — the note
"""

USER_CHECK = """
from ecm_runtime import Runtime
import selene_ecm.engines.demo_notes
rt = Runtime.open("sqlite:///user.sqlite3")  # the default package: the user's selene_ecm
ids = sorted(spec.id for spec in rt.catalog)
assert "NOTES_APPEND_NOTE" in ids and "NOTES_READ_NOTES" in ids and len(ids) == 5, ids
ctx = rt.context(caller="SELENE_OS", tenant_id="t")
print(rt.invoke(ctx, "NOTES_APPEND_NOTE", dict(now=1, tenant_id="t", note_text="hi")).id)
"""


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
    run([*pip, "-w", str(out), str(REPO)], cwd=out)
    (found,) = out.glob("ecmc-*.whl")
    return found


def test_the_wheel_carries_the_compiler_the_runtime_and_their_contract(wheel: Path) -> None:
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    packages = {top for top in tops if not top.endswith((".dist-info", ".data"))}
    assert packages == {"ecmc", "ecm_runtime", "ecm_contract"}


def test_a_fresh_install_builds_and_imports_the_users_own_package(
    wheel: Path, tmp_path: Path
) -> None:
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path)
    # The user names their package selene_ecm too: theirs is the one that imports.
    project = make_project(
        tmp_path / "service",
        "selene_ecm",
        {
            "common/fields.md": (REPO / "specs/common/fields.md").read_text(),
            "common/callers.md": (REPO / "specs/common/callers.md").read_text(),
            "common/note_fields.md": FIELDS,
            "ecm/PH1_J.md": (REPO / "specs/ecm/PH1_J.md").read_text(),
            "wiring/PH1_J.md": (REPO / "specs/wiring/PH1_J.md").read_text(),
            "ecm/DEMO_NOTES.md": ECM,
            "wiring/DEMO_NOTES.md": WIRING,
        },
        keep_project=False,
    )
    built = run([str(env / "bin" / "ecmc"), "build"], cwd=project)
    assert "2 engines, 5 capabilities" in built.stdout
    check = run(
        [str(python), "-c", f"import sys; sys.path.insert(0, 'generated'){USER_CHECK}"],
        cwd=project,
    )
    assert check.stdout.strip() == "1"
