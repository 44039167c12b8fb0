"""Hostile text in specs either gets a diagnostic or becomes inert data in generated code."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from conftest import make_project, problems
from ecmc.commands.build import build
from ecmc.config import load_config

CANARY = "PWNED"
INJECT = f'__import__("pathlib").Path("{CANARY}").touch()'
HOSTILE = (
    f'"""; {INJECT}; """ \'\'\' \\" \\\\ C:\\new\\table {{braces}} #hash `tick` '
    "caf\u00e9 \u05e9\u05dc\u05d5\u05dd \U0001f680 ); ("
)

FIELDS = """# Hostile Fields

## Spec Header
- `kind`: `FIELD_DICTIONARY`

## Fields
- `class`: `string[1..10]` — a Python keyword
- `from`: `int[0..9]` — another one
- `json`: `json` — a pydantic model attribute
- `order`: `int[0..100]` — an SQL keyword
- `group`: `string[1..10]` — another SQL keyword
- `type`: `string[1..10]` — a builtin
"""

ECM = f"""# HOSTILE.X ECM Spec

## Engine Header
- `engine_id`: `HOSTILE.X`
- `purpose`: {HOSTILE}
- `data_owned`: `select`, `metadata`
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `HOSTILE_DO_IT`
- `name`: x"); {INJECT}; ("
- `input_schema`: `(class, from, json, order, group, type, tenant_id?)`
- `output_schema`: `Result<SpecModelLike, StorageError>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `DECLARED (DB_WRITE)`

## Failure Modes + Reason Codes
- {HOSTILE}: `HOSTILE_FAIL`

## Audit Emission Requirements Per Capability
- write capabilities emit PH1.J audit events with bounded keys:
  - `order`

## Notes \"\"\" {INJECT}
- {HOSTILE}
- '''{INJECT}'''
"""

WIRING = f"""# Hostile Wiring

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `HOSTILE.X`

## Tables

### `select`
- `truth_type`: `CURRENT`
- `description`: {HOSTILE}
- `columns`: `(order, group, from, class, type, json)`
- `primary_key`: `(order, group)`
- `indexes`:
  - `where`: `(from, class)`

### `metadata`
- `truth_type`: `CACHE`
- `columns`: `(order, expires_at)`
- `primary_key`: `order`
- `ttl_column`: `expires_at`

## Records

### `SpecModelLike`
- `fields`: `(order, group)`
- `description`: {HOSTILE}
"""


def test_hostile_text_is_inert_and_round_trips(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    import_generated: Callable[[Path, str], ModuleType],
) -> None:
    root = make_project(
        tmp_path / "hostile",
        "hostile_ecm",
        {"common/hostile.md": FIELDS, "ecm/HOSTILE.md": ECM, "wiring/HOSTILE.md": WIRING},
    )
    project, report = build(load_config(root))
    # Its writing capability has no binding: a handler, whose audit row waits for one.
    found = [(d.code, d.message.split()[0]) for d in problems(project.result.diagnostics)]
    assert found == [("ECM072", "HOSTILE_DO_IT")], project.result.diagnostics
    assert report is not None
    monkeypatch.chdir(tmp_path)  # an injection would drop its canary here
    package = import_generated(root, "hostile_ecm")
    engine = importlib.import_module("hostile_ecm.engines.hostile_x")
    records = importlib.import_module("hostile_ecm.records")
    tables = importlib.import_module("hostile_ecm.tables")
    importlib.import_module("hostile_ecm.catalog")

    assert engine.DO_IT_SPEC.name == f'x"); {INJECT}; ("'
    # Docstrings hold the text as Markdown reads it; the dangerous parts survive verbatim.
    for doc in (engine.__doc__ or "", records.SpecModelLike.__doc__ or ""):
        flat = " ".join(doc.split())
        for part in (INJECT, '"""', "'''", "C:\\new\\table", "\U0001f680"):
            assert part in flat, part
    assert tables.select.comment == HOSTILE
    model = engine.DoItInput.model_validate(
        {"class": "k", "from": 1, "json": {"a": 1}, "order": 2, "group": "g", "type": "t"}
    )
    assert (model.class_, model.from_, model.json_, model.type) == ("k", 1, {"a": 1}, "t")
    db = sa.create_engine("sqlite://")
    tables.metadata.create_all(db)
    row = {"order": 1, "group": "g", "from": 2, "class": "c", "type": "t", "json": None}
    with db.begin() as connection:
        connection.execute(tables.select.insert(), row)
        assert connection.execute(sa.select(tables.select.c["from"])).scalar_one() == 2
    assert tables.metadata_table.name == "metadata"
    assert package.ENGINES[-1] == "PH1.J"
    assert not list(tmp_path.rglob(CANARY))


def test_names_that_cannot_be_identifiers_get_diagnostics(tmp_path: Path) -> None:
    wiring = """# Bad Names

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `PH1.D`

## Tables

### `audit events; DROP TABLE x`
- `truth_type`: `LEDGER`
- `columns`: `(event_id)`
- `primary_key`: `event_id`

### `fine_table`
- `truth_type`: `CURRENT`
- `columns`: `(event_id)`
- `primary_key`: `event_id`
- `indexes`:
  - `ix_this_name_is_far_too_long_for_postgresql_which_allows_sixty_three`: `event_id`

## Records

### `__import__`
- `fields`: `(event_id)`

### `SpecModel`
- `fields`: `(event_id)`

### `GoodRecord`
- `fields`: `(event_id)`

#### `Bad Variant"`
- `fields`: `(tenant_id)`
"""
    fields = (
        "# F\n\n## Spec Header\n- `kind`: `FIELD_DICTIONARY`\n\n## Fields\n"
        "- `__import__`: `string` — a dunder\n"
    )
    root = make_project(
        tmp_path / "bad", "bad_ecm", {"wiring/BAD.md": wiring, "common/bad.md": fields}
    )
    project, report = build(load_config(root))
    assert report is None
    found = sorted((d.code, d.span.line) for d in problems(project.result.diagnostics))
    assert found == [
        ("ECM053", 7),  # the dunder field
        ("ECM059", 9),  # table name with spaces and SQL
        ("ECM059", 19),  # index name longer than 63
        ("ECM060", 23),  # __import__ as a record
        ("ECM060", 26),  # a record shadowing the model base
        ("ECM060", 32),  # variant with a space and a quote
    ]
