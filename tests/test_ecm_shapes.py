"""ECM text as real files write it, outside the grammar, is read the way a careful person
would, each reading a located ECM076 warning, and the grammar's errors stay errors.

Each case is one variant of a class issue 25 names (bare side-effect names, enumerations and
notes after a field, nested record lists, lists without parentheses, pinned values, operation
variants, prose-named records, header values outside the pattern, one code for several modes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import compile_with_project
from ecmc.ir import Capability
from ecmc.typeref import InlineRecordRef, ListRef, ScalarRef, TupleRef, UnionRef
from test_cli import ecmc

HEAD = """# PH1.SHAPE ECM Spec

## Engine Header
- `engine_id`: `PH1.SHAPE`
- `purpose`: shapes
- `data_owned`: none
- `version`: {version}
- `status`: `ACTIVE`

## Capability List

### `PH1SHAPE_CAP`
- `name`: A capability
- `input_schema`: {inp}
- `output_schema`: {out}
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: {effects}

## Failure Modes + Reason Codes
- contract failure: `SHAPE_CONTRACT_VALIDATION_FAILED`
- a missing field, the same code: `SHAPE_CONTRACT_VALIDATION_FAILED`
"""
PATH = "specs/ecm/PH1_SHAPE.md"


def compiled(
    inp: str = "`(tenant_id)`",
    out: str = "`(reason_code)`",
    effects: str = "`NONE`",
    version: str = "`v1`",
) -> tuple[Capability | None, list[tuple[str, str, int]]]:
    text = HEAD.format(inp=inp, out=out, effects=effects, version=version)
    result = compile_with_project({PATH: text})
    found = [(d.code, d.message, d.span.col) for d in result.diagnostics if d.span.path == PATH]
    engine = next((e for e in result.program.engines if e.engine_id == "PH1.SHAPE"), None)
    return (engine.capabilities[0] if engine else None), found


def fields(ref: object) -> dict[str, object]:
    assert isinstance(ref, TupleRef | InlineRecordRef), ref
    return {m.name + ("?" if m.optional else ""): m.type for m in ref.members}


def codes(found: list[tuple[str, str, int]]) -> list[str]:
    return sorted(code for code, _, _ in found if code != "ECM033")


@pytest.mark.parametrize(
    ("written", "effects", "writes"),
    [
        ("`EXTERNAL_SEND`", ("EXTERNAL_SEND_REQUEST",), True),
        ("INTERNAL_DB_WRITE", ("DB_WRITE",), True),
        ("`EXTERNAL_DELIVERY_REQUEST`", ("EXTERNAL_SEND_REQUEST",), True),
        ("`DECLARED (LEDGER_APPEND + AUDIT_EMIT)`", ("DB_WRITE", "AUDIT_WRITE"), True),
        ("`DB_READ_WRITE`", ("DB_WRITE",), True),  # read and write words: the write
        ("`PROVIDER_LOOKUP`", ("PROVIDER_CALL",), True),
        ("`DB_WRITE + EXTERNAL_SEND_REQUEST`", ("DB_WRITE", "EXTERNAL_SEND_REQUEST"), True),
        ("`READ_ONLY`", (), False),
        ("writes the audit row", ("AUDIT_WRITE",), True),
        ("sends an SMS to the user", ("EXTERNAL_SEND_REQUEST",), True),
    ],
)
def test_a_side_effect_name_is_classified_by_its_words(
    written: str, effects: tuple[str, ...], writes: bool
) -> None:
    cap, found = compiled(effects=written)
    assert cap is not None and cap.side_effects is not None
    assert (cap.side_effects.effects, cap.side_effects.writes) == (effects, writes)
    assert codes(found) == ["ECM076"]


@pytest.mark.parametrize(
    "written",
    ["`NONE (result packet only; no storage)`", "`NONE` (pure function)", "None"],
)
def test_none_with_a_note_is_none(written: str) -> None:
    cap, found = compiled(effects=written)
    assert cap is not None and cap.side_effects is not None
    assert not cap.side_effects.writes and codes(found) == []


@pytest.mark.parametrize(
    "written", ["`FROBNICATE`", "`DECLARED (DB_WRITE + WIBBLE)`", "`NONE (appends a row)`"]
)
def test_an_effect_nothing_classifies_or_a_none_that_writes_is_an_error(written: str) -> None:
    _, found = compiled(effects=written)
    assert "ECM037" in codes(found)


def test_header_values_outside_the_pattern_are_kept_and_said() -> None:
    _, found = compiled(version="`vNext`")
    assert codes(found) == ["ECM076"]


def test_one_code_may_name_several_failure_modes() -> None:
    result = compile_with_project(
        {
            PATH: HEAD.format(
                inp="`(tenant_id)`", out="`(reason_code)`", effects="`NONE`", version="`v1`"
            )
        }
    )
    assert not [d for d in result.diagnostics if d.code == "ECM031"]
    engine = next(e for e in result.program.engines if e.engine_id == "PH1.SHAPE")
    assert [c.code for c in engine.reason_codes] == ["SHAPE_CONTRACT_VALIDATION_FAILED"]


@pytest.mark.parametrize(
    "written",
    [
        "`(tenant_id, `validation_status (OK|FAIL)`, reason_code)`",
        "(tenant_id, `validation_status (OK|FAIL)`, reason_code)",
        "`(tenant_id, validation_status (OK / FAIL), reason_code)`",
        "`tenant_id`, `validation_status` in `OK | FAIL`, `reason_code`",
    ],
)
def test_an_enumeration_after_a_field_types_it(written: str) -> None:
    cap, found = compiled(inp=written)
    assert cap is not None and cap.input is not None
    status = fields(cap.input.type)["validation_status"]
    assert isinstance(status, ScalarRef) and status.scalar.labels == ("OK", "FAIL")
    assert list(fields(cap.input.type)) == ["tenant_id", "validation_status", "reason_code"]
    assert "ECM020" not in codes(found)


@pytest.mark.parametrize(
    "written",
    [
        "`tenant_id`, `correlation_id`, `turn_id`",
        "tenant_id, correlation_id, turn_id",
        "`tenant_id`, correlation_id, `turn_id`",
    ],
)
def test_a_list_without_parentheses_is_every_field_not_the_first(written: str) -> None:
    cap, found = compiled(inp=written)
    assert cap is not None and cap.input is not None
    assert list(fields(cap.input.type)) == ["tenant_id", "correlation_id", "turn_id"]
    assert codes(found) == ["ECM076"]


@pytest.mark.parametrize(
    ("written", "name", "is_list"),
    [
        (
            "`(tenant_id, bounded entity candidates (`candidate_id`, `tenant_id`, `score_bp`))`",
            "entity_candidates",
            True,
        ),
        ("`(tenant_id, ordered candidate list (candidate_id, score_bp))`", "candidate", True),
        ("`(tenant_id, window (start_ms, end_ms))`", "window", False),
    ],
)
def test_nested_records_are_the_members_of_a_field_not_the_parents(
    written: str, name: str, is_list: bool
) -> None:
    cap, found = compiled(inp=written)
    assert cap is not None and cap.input is not None
    nested = fields(cap.input.type)[name]
    record = nested.item if isinstance(nested, ListRef) else nested
    assert isinstance(nested, ListRef) is is_list
    assert isinstance(record, InlineRecordRef) and len(record.members) >= 2
    assert "ECM026" not in codes(found) and "tenant_id" in fields(cap.input.type)


@pytest.mark.parametrize(
    ("written", "expected", "note"),
    [
        (
            "`(candidate_id (present when `reason_code=OK`), reason_code)`",
            ["candidate_id?", "reason_code"],
            "present when reason_code=OK",
        ),
        (
            "`(deadline_ms (must be <= `budget_ms`), budget_ms)`",
            ["deadline_ms", "budget_ms"],
            "must be <= budget_ms",
        ),
        (
            "(deadline_ms - at most the budget, budget_ms)",
            ["deadline_ms", "budget_ms"],
            "at most the budget",
        ),
        (
            "`(turn_id only when replayed, reason_code)`",
            ["turn_id?", "reason_code"],
            "only when replayed",
        ),
        (
            "`(deadline_ms (a) or (b), budget_ms)`",
            ["deadline_ms", "budget_ms"],
            "(a) or (b)",
        ),
    ],
)
def test_a_note_after_a_field_is_a_note(written: str, expected: list[str], note: str) -> None:
    cap, found = compiled(out=written)
    assert cap is not None and cap.output is not None
    assert list(fields(cap.output.type)) == expected
    assert "ECM021" not in codes(found)
    first = cap.output.type.members[0]  # type: ignore[union-attr]
    assert (first.note, cap.output.type.members[1].note) == (note, "")  # type: ignore[union-attr]


def test_pinned_values_type_a_field_the_dictionary_does_not_know() -> None:
    cap, _ = compiled(inp="`(tenant_id, dry_flag=bool, speed_mode=FAST|SLOW, strict_flag=true)`")
    assert cap is not None and cap.input is not None
    members = {m.name: m for m in cap.input.type.members}  # type: ignore[union-attr]
    bases = {n: m.type.scalar.base for n, m in members.items() if isinstance(m.type, ScalarRef)}
    assert bases == {
        "tenant_id": "string",
        "dry_flag": "bool",
        "speed_mode": "enum",
        "strict_flag": "bool",
    }
    assert (members["dry_flag"].pinned, members["strict_flag"].pinned) == ((), ("true",))


def test_operation_variants_are_a_union_of_their_records() -> None:
    cap, found = compiled(out="`GET` -> `reason_code` / `ROTATE` -> `reason_code` + `turn_id`")
    assert cap is not None and cap.output is not None
    union = cap.output.type
    assert isinstance(union, UnionRef) and union.labels == ("GET", "ROTATE")
    assert [list(fields(variant)) for _, variant in union.variants] == [
        ["reason_code"],
        ["reason_code", "turn_id"],
    ]
    assert codes(found) == ["ECM076"]


def test_a_record_named_in_prose_and_a_list_of_a_named_record() -> None:
    cap, found = compiled(
        inp="`ShapeInput` bounded envelope: `tenant_id`, `correlation_id`",
        out="ordered `AuditEvent` list",
    )
    assert cap is not None and cap.input is not None and cap.output is not None
    assert isinstance(cap.input.type, InlineRecordRef) and cap.input.type.name == "ShapeInput"
    assert isinstance(cap.output.type, ListRef)
    assert codes(found) == ["ECM076", "ECM076"]


@pytest.mark.parametrize(
    "written",
    ["`(tenant_id, correlation_id`", "`tenant_id correlation_id`", "`(tenant_id, Result<A; B>)`"],
)
def test_text_that_contradicts_itself_keeps_the_grammars_error(written: str) -> None:
    _, found = compiled(inp=written)
    assert "ECM020" in codes(found)


def test_init_builds_every_shape_with_no_error(tmp_path: Path) -> None:
    ecm = tmp_path / "ecm"
    ecm.mkdir()
    (ecm / "PH1_SHAPES.md").write_text(
        (Path(__file__).parent / "broken_specs" / "shape_readings.md").read_text()
    )
    run = ecmc("init", str(tmp_path / "service"), "--from", str(ecm))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "error[" not in run.stdout + run.stderr
    # A field's note is its model field's description, so the JSON Schema says it.
    [module] = (tmp_path / "service" / "generated").glob("*/engines/demo.py")
    text = module.read_text()
    assert 'description="must be <= budget_ms"' in text
    assert 'description="present when reason_code=OK"' in text
