"""The rules `ecmc init` drafts by (issue 12), one at a time: records for undefined named types,
restated schemas, caller policies, bindings, placeholder tables, merging into edited files, and
the example values the scaffolded contract tests call with."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from ecm_contract import TruthType
from ecm_runtime.testing import NoExample, example
from hypothesis import given
from hypothesis import strategies as st

from ecmc.adopt.callers import callers_markdown, undeclared_policies
from ecmc.adopt.documents import Document, entry_names, merge
from ecmc.adopt.drafts import placeholder_entry, table_entry, truth_type
from ecmc.adopt.records import OPAQUE_RECORD, draft_record, table_candidates
from ecmc.adopt.schemas import restate, split_members
from ecmc.adopt.sql import SqlColumn, SqlTable, Where
from ecmc.adopt.system import adopt
from ecmc.pipeline import compile_texts

ECM = """# PH1.T ECM Spec

## Engine Header
- `engine_id`: `PH1.T`
- `purpose`: a test engine
- `data_owned`: `t_ledger`, `t_current`
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `PH1T_READ_ROW`
- `name`: read one row
- `input_schema`: `(tenant_id, record_id)`
- `output_schema`: `Option<TRecord>`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

### `PH1T_APPEND_ROW`
- `name`: append one row
- `input_schema`: `(tenant_id, stream/device fields, note?)`
- `output_schema`: `Ok | Denied`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `DECLARED (DB_WRITE)`

## Failure Modes
- `PH1_T_FAILED`
"""


# --- records ----------------------------------------------------------------------------------


def test_an_id_type_aliases_the_field_of_its_words() -> None:
    draft = draft_record("SessionId", "", [])
    assert draft.rule == "field" and "- `alias_of`: `session_id`" in draft.entry


def test_a_type_named_like_a_table_is_its_row() -> None:
    assert "wake_enrollment_sessions" in table_candidates("WakeEnrollmentSessionRecord")
    draft = draft_record("WakeEnrollmentSessionRecord", "", ["wake_enrollment_sessions"])
    assert (draft.rule, draft.table) == ("sql", "wake_enrollment_sessions")
    assert "- `row_of`: `wake_enrollment_sessions`" in draft.entry


def test_a_type_whose_fields_the_ecm_text_lists_has_them() -> None:
    text = "intro\n- `LinkRecord` carries `(link_id, status, created_at)` per link\n"
    draft = draft_record("LinkRecord", text, [])
    assert draft.rule == "ecm"
    assert "- `fields`: `(link_id, status, created_at)`" in draft.entry
    assert "the ECM text, line 2" in draft.entry


def test_anything_else_is_an_opaque_object_and_says_so() -> None:
    draft = draft_record("Mystery", "`Mystery` is `not a tuple`", [])
    assert draft.rule == "opaque" and "inferred from nothing" in draft.entry


def test_variants_the_schemas_name_are_drafted() -> None:
    draft = draft_record("Request", "", [], ["create_v1", "cancel_v1"])
    assert "#### `create_v1`" in draft.entry and "#### `cancel_v1`" in draft.entry


# --- schemas ----------------------------------------------------------------------------------


def test_a_tuple_keeps_the_members_that_read_as_fields() -> None:
    text, why = restate("(now, session_id, sample quality fields, reason_code?)")
    assert text == "(now, session_id, reason_code?)"
    assert "'sample quality fields'" in why


def test_alternatives_of_fields_become_optional_fields() -> None:
    assert restate("user_id | device_id")[0] == "(user_id?, device_id?)"


@pytest.mark.parametrize("text", ["in-memory projection updated", "A | B", "(a b c)"])
def test_what_cannot_be_read_is_an_opaque_object(text: str) -> None:
    assert restate(text)[0] == OPAQUE_RECORD


def test_members_split_at_top_level_commas_only() -> None:
    assert split_members("a, b=(x, y), Map<k, v>, c?") == ["a", "b=(x, y)", "Map<k, v>", "c?"]


# --- placeholder tables -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "truth"),
    [
        ("t_ledger", "", "LEDGER"),
        ("t_cache", "", "CACHE"),
        ("t_log_rows", "`t_log_rows` is append-only", "LEDGER"),
        ("t_current", "", "CURRENT"),
    ],
)
def test_a_placeholder_table_takes_its_truth_type_from_name_and_text(
    name: str, text: str, truth: str
) -> None:
    placeholder = placeholder_entry(name, text)
    assert f"- `truth_type`: `{truth}`" in placeholder.entry
    assert "inferred from nothing but its name" in placeholder.entry


# --- the whole loop on a small engine ---------------------------------------------------------


def test_a_small_engine_is_drafted_until_it_compiles() -> None:
    adoption = adopt({"specs/ecm/PH1_T.md": ECM}, None)
    assert adoption.result is not None
    assert [d for d in adoption.result.diagnostics if d.severity == "error"] == []
    texts = adoption.texts()
    wiring = texts["specs/wiring/PH1_T.md"]
    # Both owned tables are placeholders; the schema with prose in it is read as written
    # (the prose a warning), the one no reading fits is restated.
    assert "### `t_ledger`" in wiring and "### `t_current`" in wiring
    caps = {c.id: c for e in adoption.result.program.engines for c in e.capabilities}
    assert [m.name for m in caps["PH1T_APPEND_ROW"].input_fields] == ["tenant_id", "note"]
    assert f"- `output_schema`: `{OPAQUE_RECORD}`" in wiring
    # The read by the current table's key is bound; the unaudited write is an explicit handler.
    assert "- `operation`: `read_one`\n- `table`: `t_current`" in wiring
    assert "- `lookup`: `(tenant_id, record_id)`" in wiring
    assert "- `event_type`: `NONE`" in wiring
    assert "- `SELENE_OS_ONLY`: `SELENE_OS`" in texts["specs/common/callers.md"]
    assert adoption.counts["bindings:read_one"] == 1


def test_drafting_is_deterministic() -> None:
    assert (
        adopt({"specs/ecm/PH1_T.md": ECM}, None).texts()
        == adopt({"specs/ecm/PH1_T.md": ECM}, None).texts()
    )


# --- callers ----------------------------------------------------------------------------------


def test_policies_are_drafted_from_the_allowed_callers_found() -> None:
    program = compile_texts({"specs/ecm/PH1_T.md": ECM}).program
    assert undeclared_policies(program) == ["SELENE_OS_ONLY"]
    drafted = callers_markdown(["SELENE_OS_ONLY", "AUDITORS"])
    assert "- `AUDITORS`: `AUDITORS`" in drafted
    result = compile_texts({"specs/common/callers.md": drafted})
    assert {d.code for d in result.diagnostics} == {"ECM073"}


# --- merging into files a person edited -------------------------------------------------------

EDITED = """# Wiring

## Spec Header
- `kind`: `ENGINE_WIRING`

## Tables

### `a`
- `columns`: `(x)`
- `description`: edited by a person

## Fields
- `x`: `int` — confirmed
"""


def test_merge_adds_only_new_entries_and_keeps_the_rest_byte_for_byte() -> None:
    draft = Document("Wiring", [])
    draft.add("Tables", "a", "### `a`\n- `columns`: `(y)`")
    draft.add("Tables", "b", "### `b`\n- `columns`: `(z)`")
    draft.add("Fields", "x", "- `x`: `string`")
    draft.add("Fields", "w", "- `w`: `bool`")
    draft.add("Records", "R", "### `R`\n- `alias_of`: `x`")
    merged, added = merge(EDITED, draft)
    assert added == ["Tables: b", "Fields: w", "Records: R"]
    assert merged.startswith(EDITED.split("\n## Fields")[0].rstrip("\n"))
    assert "- `description`: edited by a person" in merged and "(y)" not in merged
    assert "- `x`: `int` — confirmed" in merged and "- `x`: `string`" not in merged
    names = entry_names(merged)
    assert names["tables"] == {"a", "b"} and names["fields"] == {"x", "w"}
    assert merge(merged, draft) == (merged, [])


# --- example values for the contract tests ----------------------------------------------------


class Inner(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    code: str = pydantic.Field(min_length=3, max_length=8)
    level: int = pydantic.Field(ge=5, le=9)


class Outer(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    inner: Inner
    items: list[Inner] = pydantic.Field(min_length=2)
    choice: Inner | None
    tag: str | int
    flag: bool
    optional: str = "x"
    negative: int = pydantic.Field(lt=-3)


def test_an_example_is_admitted_by_its_schema() -> None:
    value = example(Outer.model_json_schema())
    Outer.model_validate(value)
    assert value["inner"] == {"code": "xxx", "level": 5} and value["negative"] == -4
    assert "optional" not in value


@given(
    st.integers(-1000, 1000),
    st.integers(0, 50),
    st.integers(0, 5),
    st.sampled_from(["A", "B"]),
)
def test_examples_meet_any_bounds(low: int, span: int, length: int, label: str) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["n", "s", "e", "xs"],
        "properties": {
            "n": {"type": "integer", "minimum": low, "maximum": low + span},
            "s": {"type": "string", "minLength": length, "maxLength": length + 3},
            "e": {"enum": [label, "C"]},
            "xs": {"type": "array", "items": {"type": "boolean"}, "minItems": length},
        },
    }
    value = example(schema)
    assert low <= value["n"] <= low + span
    assert length <= len(value["s"]) <= length + 3
    assert value["e"] == label and value["xs"] == [False] * length


def test_a_pattern_is_no_example() -> None:
    with pytest.raises(NoExample):
        example({"type": "string", "pattern": "^a+$"})


def test_an_unaudited_write_of_a_whole_ledger_row_appends_it() -> None:
    ecm = ECM.replace(
        "`(tenant_id, stream/device fields, note?)`", "`(tenant_id, payload_json, created_at)`"
    )
    adoption = adopt({"specs/ecm/PH1_T.md": ecm}, None)
    assert adoption.result is not None
    assert [d for d in adoption.result.diagnostics if d.severity == "error"] == []
    wiring = adoption.texts()["specs/wiring/PH1_T.md"]
    assert "### `PH1T_APPEND_ROW`\n- `operation`: `append`\n- `table`: `t_ledger`" in wiring
    assert adoption.counts["bindings:append"] == 1


def test_the_ecm_text_can_make_an_imported_table_a_ledger() -> None:
    table = SqlTable("t_rows", Where("0001.sql", 1))
    table.columns["row_id"] = SqlColumn("row_id", "BIGSERIAL", False, True, (), Where("x", 1))
    table.primary_key = ("row_id",)
    assert truth_type(table).truth_type is TruthType.CURRENT
    text = "- `t_rows` is append-only: corrections are new rows"
    assert truth_type(table, text).truth_type is TruthType.LEDGER
    assert "- `truth_type`: `LEDGER`" in table_entry(table, text)


def test_an_engine_that_documents_no_capability_is_only_a_warning() -> None:
    ecm = (
        "# PH1.EMPTY ECM Spec\n\n## Engine Header\n- `engine_id`: `PH1.EMPTY`\n"
        "- `purpose`: capabilities land later\n- `data_owned`: none\n\n## Notes\n- phase 2\n"
    )
    result = compile_texts({"specs/ecm/PH1_EMPTY.md": ecm})
    assert {d.severity for d in result.diagnostics} == {"warning"}
    assert "ECM041" in {d.code for d in result.diagnostics}
    assert result.program.engines[0].data_owned == ()


def test_an_audit_rule_may_name_its_capability_as_key_and_its_keys_inline() -> None:
    ecm = ECM.replace(
        "## Failure Modes",
        "## Audit Emission Requirements\n"
        "- `PH1T_APPEND_ROW`: required; keys `tenant_id`, `note`, `event_kind=ROW_ADDED`\n\n"
        "## Failure Modes",
    )
    program = compile_texts({"specs/ecm/PH1_T.md": ecm}).program
    (append,) = [c for c in program.engines[0].capabilities if c.id == "PH1T_APPEND_ROW"]
    (rule,) = append.audit
    assert rule.mode == "required"
    assert [(k.name, k.qualifier) for k in rule.keys] == [
        ("tenant_id", ""),
        ("note", ""),
        ("event_kind", "= ROW_ADDED"),
    ]


# --- reason-code roles ------------------------------------------------------------------------

SINK = """# PH1.L ECM Spec

## Engine Header
- `engine_id`: `PH1.L`
- `purpose`: the audit sink
- `data_owned`: none
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `PH1L_READ`
- `name`: read
- `input_schema`: `(tenant_id)`
- `output_schema`: `Ok`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

## Failure Modes
- scope: `L_SCOPE_VIOLATION`
- contract: `L_CONTRACT_VALIDATION_FAILED`
"""


def _roles(mention: str) -> str:
    ecm = ECM.replace("## Failure Modes", f"## Hard Rules\n- {mention}\n\n## Failure Modes")
    adoption = adopt({"specs/ecm/PH1_T.md": ecm, "specs/ecm/PH1_L.md": SINK}, None)
    wiring = adoption.texts()["specs/wiring/PH1_T.md"]
    return wiring[wiring.index("## Reason Code Roles") :]


@pytest.mark.parametrize(
    "mention",
    [
        "feedback goes to PH1.LEARN and PH1.LINK.",  # a longer id that starts with `PH1.L`
        "PH1.L owns the sessions this engine reads.",  # named, but not as the audit sink
        "see PH1.L.x for the handoff",
    ],
)
def test_an_engine_named_other_than_as_its_audit_sink_lends_no_codes(mention: str) -> None:
    roles = _roles(mention)
    assert "`L_SCOPE_VIOLATION`" not in roles and "`L_CONTRACT" not in roles
    assert "_FAIL_SCOPE_VIOLATION` — inferred from the runtime's need" in roles


@pytest.mark.parametrize(
    "mention", ["write capabilities emit PH1.L audit rows.", "rows are audited (PH1.L)."]
)
def test_the_audit_sink_lends_its_codes(mention: str) -> None:
    roles = _roles(mention)
    assert "- `scope_violation`: `L_SCOPE_VIOLATION` — inferred from PH1.L" in roles
