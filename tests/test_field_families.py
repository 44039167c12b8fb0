"""A family of fields (issue 25): `*_gate_ok` in a schema is any number of fields so named,
each of the type of the naming convention that matches the family. Read by the front end,
typed by the dictionary, emitted as a model that admits the family's fields and no other,
stated in its JSON Schema, run by the runtime; malformed families are located errors, and
`ecmc init` drafts a convention for a family nothing types."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from ecm_runtime import Runtime
from ecm_runtime.errors import ContractViolation
from ecm_runtime.handlers import HandlerCall

from conftest import SPECS, make_project
from ecmc.commands.build import build
from ecmc.commands.init import run_init
from ecmc.config import load_config
from ecmc.pipeline import compile_texts

ECM = """# PH1.GATE ECM Spec

## Engine Header
- `engine_id`: `PH1.GATE`
- `purpose`: Decide from a family of gate flags.
- `data_owned`: `none`
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `GATE_DECIDE`
- `name`: Decide from gates
- `input_schema`: `(tenant_id, SCHEMA, gate_decision_note)`
- `output_schema`: `(gate_verdict (ALLOW|DENY))`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

## Failure Modes + Reason Codes
- contract validation failure: `GATE_CONTRACT_VALIDATION_FAILED`
"""

DICTIONARY = """# Gate fields

## Spec Header
- `kind`: `FIELD_DICTIONARY`

## Naming Conventions
- `*_ok`: `bool` — pass/fail flags
- `limit_*`: `int[0..100]` — limits

## Fields
- `tenant_id`: `string[1..64]` — the tenant
- `gate_decision_note`: `string[1..64]` — why
- `gate_verdict`: `enum(ALLOW|DENY)` — the verdict
"""

SCHEMA = "*_gate_ok, limit_*"


def _texts(schema: str) -> dict[str, str]:
    return {
        "ecm/GATE.md": ECM.replace("SCHEMA", schema),
        "common/gate_fields.md": DICTIONARY,
        "common/callers.md": (SPECS / "common/callers.md").read_text(encoding="utf-8"),
    }


def test_a_family_is_typed_by_the_convention_that_matches_it() -> None:
    result = compile_texts({f"specs/{p}": t for p, t in _texts(SCHEMA).items()})
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    [cap] = [c for e in result.program.engines for c in e.capabilities if c.id == "GATE_DECIDE"]
    typed = {m.name: (m.type.scalar.base, m.type.typed_by) for m in cap.input_fields}  # type: ignore[union-attr]
    assert typed["*_gate_ok"] == ("bool", "convention *_ok")
    assert typed["limit_*"] == ("int", "convention limit_*")


@pytest.mark.parametrize("family", ["*gate*", "*_Gate_ok", "gate_*_ok", "**_ok", "*"])
def test_a_malformed_family_is_a_located_error(family: str) -> None:
    result = compile_texts({f"specs/{p}": t for p, t in _texts(family).items()})
    [error] = [d for d in result.diagnostics if d.severity == "error"]
    line = ECM.splitlines().index("- `input_schema`: `(tenant_id, SCHEMA, gate_decision_note)`")
    assert (error.code, error.span.path, error.span.line) == (
        "ECM053",
        "specs/ecm/GATE.md",
        line + 1,
    )
    assert error.span.col == len("- `input_schema`: `(tenant_id, ") + 1
    assert family in error.message


def test_a_family_nothing_types_names_the_fix() -> None:
    result = compile_texts({f"specs/{p}": t for p, t in _texts("*_gate_flag").items()})
    [error] = [d for d in result.diagnostics if d.severity == "error"]
    assert error.code == "ECM021" and "naming convention" in " ".join(error.notes)


@pytest.fixture
def package(tmp_path: Path, import_generated: Callable[[Path, str], ModuleType]) -> ModuleType:
    root = make_project(tmp_path / "p", "gate_ecm", _texts(SCHEMA), keep_project=False)
    _, report = build(load_config(root))
    assert report is not None
    return import_generated(root, "gate_ecm")


def test_the_model_admits_the_family_and_nothing_else(package: ModuleType) -> None:
    model = importlib.import_module("gate_ecm.engines.ph1_gate").DecideInput
    base = {"tenant_id": "t", "gate_decision_note": "n"}
    admitted = model.model_validate({**base, "risk_gate_ok": True, "limit_rows": 7})
    assert admitted.model_dump() == {**base, "risk_gate_ok": True, "limit_rows": 7}
    refused = [
        {"risk_gate_ok": "yes"},  # the family's type
        {"limit_rows": 101},  # and its bounds
        {"gate_ok": True},  # the fixed part alone is no member
        {"Risk_gate_ok": True},  # nor a name no field may have
        {"other": 1},  # nor a field of no family
    ]
    for extra in refused:
        with pytest.raises(ValueError):
            model.model_validate({**base, **extra})
    schema = model.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["patternProperties"] == {
        "^[a-z][a-z0-9_]*_gate_ok$": {"type": "boolean"},
        "^limit_[a-z0-9_]+$": {"type": "integer", "minimum": 0, "maximum": 100},
    }


def test_the_runtime_hands_the_family_to_the_handler(package: ModuleType) -> None:
    rt = Runtime.open("sqlite:///:memory:", package="gate_ecm")

    def decide(call: HandlerCall[object]) -> dict[str, str]:
        flags = [v for k, v in call.input.model_dump().items() if k.endswith("_gate_ok")]
        return {"gate_verdict": "ALLOW" if all(flags) else "DENY"}

    rt.handlers.register("GATE_DECIDE", decide)
    ctx = rt.context("SELENE_OS", "t")
    base = {"tenant_id": "t", "gate_decision_note": "n"}
    both = {**base, "a_gate_ok": True, "b_gate_ok": False}
    assert rt.invoke(ctx, "GATE_DECIDE", both).gate_verdict == "DENY"
    assert rt.invoke(ctx, "GATE_DECIDE", {**base, "a_gate_ok": True}).gate_verdict == "ALLOW"
    with pytest.raises(ContractViolation) as refused:
        rt.invoke(ctx, "GATE_DECIDE", {**base, "stray": 1})
    assert refused.value.reason_code == "GATE_CONTRACT_VALIDATION_FAILED"
    rt.close()


def test_init_drafts_a_convention_for_a_family_nothing_types(tmp_path: Path) -> None:
    (tmp_path / "ecm").mkdir()
    text = ECM.replace("SCHEMA", "*_gate_ok, *_gate_flag").replace(
        "(gate_verdict (ALLOW|DENY))", "(verdict (ALLOW|DENY))"
    )
    (tmp_path / "ecm/GATE.md").write_text(text, encoding="utf-8")
    report = run_init(tmp_path / "svc", tmp_path / "ecm", [], False)
    assert report.errors == []
    fields = (tmp_path / "svc/specs/common/fields.md").read_text(encoding="utf-8")
    assert "- `*_ok`: `bool` — inferred naming convention: pass/fail flags" in fields
    assert "- `*_gate_flag`: `json` — inferred naming convention: a family of fields" in fields
