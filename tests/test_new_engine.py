"""A new engine is a new spec: it builds into a working module with no Python change."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pydantic
import pytest
import sqlalchemy as sa

from conftest import REPO, make_project, problems, project_counts
from ecmc.commands.build import build
from ecmc.config import load_config

FIELDS = """# Demo Fields

## Spec Header
- `kind`: `FIELD_DICTIONARY`

## Fields
- `note_text`: `string[1..280]` — the note
- `note_kind`: `enum(IDEA|TODO)` — what the note is
- `stars`: `int[0..5]` — how much it matters
- `pinned`: `bool` — shown first
"""

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
- `input_schema`: `NoteInput`
- `output_schema`: `Result<note_row_id, StorageError>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `DECLARED (DB_WRITE)`

### `NOTES_READ_NOTES`
- `name`: Read a tenant's notes
- `input_schema`: `(tenant_id, note_kind?, limit?)`
- `output_schema`: `Vec<NoteRow>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

### `NOTES_SUMMARY`
- `name`: Summarise a tenant's notes
- `input_schema`: `tenant_id`
- `output_schema`: `summary_view { tenant_id, stars, top { note_text, stars }, tags[] }`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

## Failure Modes + Reason Codes
- note longer than allowed: `NOTES_TOO_LONG`

## Audit Emission Requirements Per Capability
- write capabilities emit PH1.J audit events with bounded keys:
  - `note_kind`
  - `stars`
"""

COLUMNS = "note_row_id, tenant_id, note_kind, note_text, stars, pinned, created_at"
WIRING = f"""# DEMO.NOTES Wiring

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `DEMO.NOTES`

## Tables

### `demo_notes`
- `truth_type`: `LEDGER`
- `columns`: `({COLUMNS}, idempotency_key?)`
- `primary_key`: `note_row_id`
- `identity`: `note_row_id`
- `idempotency_keys`:
  - `ux_demo_notes_idempotency`: `(tenant_id, idempotency_key)`

## Records

### `NoteInput`
- `fields`: `(now, tenant_id, note_kind, note_text, stars, pinned?, idempotency_key?)`

### `NoteRow`
- `row_of`: `demo_notes`

## Reason Code Roles
- `contract_validation`: `NOTES_TOO_LONG`
"""
RUNTIME = REPO / "runtime"
EXTRA_FIELDS = FIELDS.replace("- `pinned`", "- `tags`: `string[1..16]` — a tag\n- `pinned`")


@pytest.fixture
def demo(tmp_path: Path, import_generated: Callable[[Path, str], ModuleType]) -> ModuleType:
    root = make_project(
        tmp_path / "demo",
        "demo_ecm",
        {
            "common/demo_fields.md": EXTRA_FIELDS,
            "ecm/DEMO_NOTES.md": ECM,
            "wiring/DEMO_NOTES.md": WIRING,
        },
    )
    project, report = build(load_config(root))
    # Its writing capability has no binding: a handler, whose audit row waits for one.
    found = [(d.code, d.message.split()[0]) for d in problems(project.result.diagnostics)]
    assert found == [("ECM072", "NOTES_APPEND_NOTE")], project.result.diagnostics
    assert report is not None
    return import_generated(root, "demo_ecm")


def test_the_new_engine_is_a_module_of_its_own(demo: ModuleType) -> None:
    import demo_ecm.engines.demo_notes as notes
    from demo_ecm.catalog import CATALOG

    assert notes.ENGINE_ID == "DEMO.NOTES"
    assert [c.id for c in notes.CAPABILITIES] == [
        "NOTES_APPEND_NOTE",
        "NOTES_READ_NOTES",
        "NOTES_SUMMARY",
    ]
    assert len(CATALOG) == project_counts()[1] + 3
    assert list(notes.ReasonCode) == ["NOTES_TOO_LONG"]
    append = notes.APPEND_NOTE_SPEC
    assert append.callers == ("SELENE_OS",)
    assert append.writes and append.audit_keys == ("note_kind", "stars")
    assert append.reason_codes == ("NOTES_TOO_LONG",)
    schema = notes.READ_NOTES_SPEC.input_schema
    assert schema["required"] == ["tenant_id"]
    assert schema["properties"]["note_kind"]["anyOf"][0]["enum"] == ["IDEA", "TODO"]


def test_models_validate_good_input_and_refuse_bad(demo: ModuleType) -> None:
    from demo_ecm.records import NoteInput

    good = {"now": 1, "tenant_id": "t1", "note_kind": "IDEA", "note_text": "hi", "stars": 5}
    note = NoteInput.model_validate(good)
    assert note.pinned is None and note.stars == 5
    for bad in (
        {**good, "stars": 6},  # above the bound
        {**good, "stars": "5"},  # strings are not ints
        {**good, "note_kind": "MEMO"},  # not an enum label
        {**good, "note_text": ""},  # shorter than the bound
        {**good, "colour": "red"},  # not a field
        {k: v for k, v in good.items() if k != "tenant_id"},  # required field missing
    ):
        with pytest.raises(pydantic.ValidationError):
            NoteInput.model_validate(bad)
    with pytest.raises(pydantic.ValidationError):
        note.stars = 1  # type: ignore[misc]  # frozen


def test_inline_output_records_nest(demo: ModuleType) -> None:
    import demo_ecm.engines.demo_notes as notes

    summary = notes.SummaryOutput.model_validate(
        {"tenant_id": "t", "stars": 3, "top": {"note_text": "a", "stars": 3}, "tags": ["x"]}
    )
    assert summary.top.note_text == "a" and summary.tags == ("x",)
    assert notes.SUMMARY_SPEC.output_model is notes.SummaryOutput


def test_tables_work_on_sqlite(demo: ModuleType) -> None:
    from demo_ecm.tables import demo_notes, metadata

    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    row = {
        "tenant_id": "t",
        "note_kind": "TODO",
        "note_text": "x",
        "stars": 1,
        "pinned": False,
        "created_at": 5,
    }
    with engine.begin() as connection:
        connection.execute(demo_notes.insert(), [row, row])  # no key: no dedupe
        connection.execute(demo_notes.insert(), {**row, "idempotency_key": "k"})
        ids = connection.execute(sa.select(demo_notes.c.note_row_id)).scalars().all()
    assert ids == [1, 2, 3]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(demo_notes.insert(), {**row, "idempotency_key": "k"})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(demo_notes.insert(), {**row, "note_kind": "MEMO"})


def assert_code_bar(package: Path) -> None:
    """The bar the project holds generated code to, stated without this repository's layout."""
    rules = ["--isolated", "--line-length", "100", "--target-version", "py311"]
    for command in (
        [
            "ruff",
            "check",
            *rules,
            "--select",
            "E,F,W,I,B,UP,SIM,RUF",
            "--ignore",
            "E501",
            str(package),
        ],
        ["ruff", "format", *rules, "--check", str(package)],
        ["mypy", "--strict", "--no-incremental", "-p", package.name],
    ):
        run = subprocess.run(
            [sys.executable, "-m", *command],
            capture_output=True,
            text=True,
            check=False,
            cwd=package.parent,
            # mypy cannot follow the editable install's import hook: name the runtime's home.
            env={"MYPYPATH": f"{package.parent}:{RUNTIME}", "PATH": ""},
        )
        assert run.returncode == 0, run.stdout + run.stderr


def test_the_new_module_meets_the_code_bar(demo: ModuleType) -> None:
    assert_code_bar(Path(demo.__file__ or "").parent)


READ_ONLY_ECM = """# DEMO.LOOKUP ECM Spec

## Engine Header
- `engine_id`: `DEMO.LOOKUP`
- `purpose`: Answer lookups; writes nothing, so it has no audit rules and no reason codes.
- `data_owned`: `demo_lookups`
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `LOOKUP_READ_ONE`
- `name`: Read one entry
- `input_schema`: `(tenant_id, lookup_id)`
- `output_schema`: `Option<LookupRow>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`
"""
READ_ONLY_WIRING = """# DEMO.LOOKUP Wiring

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `DEMO.LOOKUP`

## Tables

### `demo_lookups`
- `truth_type`: `CACHE`
- `columns`: `(lookup_id, tenant_id, expires_at)`
- `primary_key`: `(tenant_id, lookup_id)`
- `tenant_column`: `tenant_id`
- `ttl_column`: `expires_at`

## Records

### `LookupRow`
- `row_of`: `demo_lookups`

## Capability Bindings

### `LOOKUP_READ_ONE`
- `operation`: `read_one`
- `table`: `demo_lookups`
- `lookup`: `(tenant_id, lookup_id)`
"""


def test_an_engine_that_only_reads_meets_the_code_bar(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "lookup",
        "lookup_ecm",
        {"ecm/DEMO_LOOKUP.md": READ_ONLY_ECM, "wiring/DEMO_LOOKUP.md": READ_ONLY_WIRING},
        keep_project=False,
    )
    (root / "specs" / "common").mkdir()
    for name in ("fields.md", "callers.md"):
        (root / "specs" / "common" / name).write_bytes(
            (REPO / "specs" / "common" / name).read_bytes()
        )
    project, report = build(load_config(root))
    assert problems(project.result.diagnostics) == [], project.result.diagnostics
    assert report is not None
    module = (root / "generated" / "lookup_ecm" / "engines" / "demo_lookup.py").read_text()
    assert "AuditRule" not in module and "enum" not in module
    assert_code_bar(root / "generated" / "lookup_ecm")
