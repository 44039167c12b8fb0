"""Drafting a field dictionary for real ECM files (issue 12, point 2): every field the files
use gets a type, from a naming convention, the imported SQL column of the same name, or the
last-resort default, and every drafted entry says which rule made it and is listed by lint."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conftest import REFERENCE
from ecmc.adopt.fields import DEFAULT_TYPE, draft_dictionary, untyped_fields
from ecmc.adopt.sql import read_migrations
from ecmc.pipeline import compile_texts

ADOPTION = REFERENCE / "adoption"


def ecm_files() -> dict[str, str]:
    if not ADOPTION.is_dir():
        pytest.skip(f"the adoption files are not at {ADOPTION}")
    return {f"specs/ecm/{p.name}": p.read_text() for p in sorted((ADOPTION / "ECM").glob("*.md"))}


def test_every_field_of_the_adoption_files_gets_a_marked_type() -> None:
    ecm = ecm_files()
    before = compile_texts(ecm)
    names = untyped_fields(before.program)
    assert Counter(d.code for d in before.diagnostics)["ECM021"] > 0
    draft = draft_dictionary(names, read_migrations([ADOPTION / "migrations"]))
    after = compile_texts({**ecm, "specs/common/drafted.md": draft.markdown()})
    codes = Counter(d.code for d in after.diagnostics)
    assert codes["ECM021"] == 0
    # Every drafted entry is listed until a person confirms it.
    assert codes["ECM073"] == len(draft.fields) + len(draft.conventions)
    assert sum(draft.by_rule.values()) == len(names)
    assert all(draft.by_rule[rule] > 0 for rule in ("convention", "sql", "default"))
    typed = {f.name: f for f in after.program.fields}
    sql_typed = [f for f in typed.values() if ".sql:" in f.description]
    assert sql_typed and all(f.description.startswith("inferred from 0") for f in sql_typed)


def test_the_rules_apply_in_order(tmp_path: Path) -> None:
    migration = tmp_path / "0001.sql"
    migration.write_text(
        "CREATE TABLE t (session_id TEXT, status TEXT CHECK (status IN ('A','B')));\n",
        encoding="utf-8",
    )
    draft = draft_dictionary(["session_id", "status", "mystery"], read_migrations([migration]))
    assert [c.pattern for c in draft.conventions] == ["*_id"]  # the convention comes first
    assert draft.fields["status"].startswith("- `status`: `enum(A|B)` — inferred from 0001.sql:1")
    assert draft.fields["mystery"].startswith(f"- `mystery`: `{DEFAULT_TYPE}` — inferred")
    assert draft.by_rule == {
        "convention": 1,
        "sql": 1,
        "placeholder": 0,
        "default": 1,
        "runtime": 0,
    }
