"""An input field a binding writes to a column its table types itself (`column_types`) takes
the column's type, not the dictionary's for the name: the model refuses, with the engine's
contract code, a value the table's CHECK would refuse, and admits every value it holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from ecm_runtime import Runtime
from ecm_runtime.errors import ContractViolation

from conftest import SPECS, make_project
from ecmc.commands.build import build
from ecmc.config import load_config
from ecmc.pipeline import compile_texts

FIELDS = """# Kind fields

## Spec Header
- `kind`: `FIELD_DICTIONARY`

## Fields
- `tenant_id`: `string[1..64]` — the tenant
- `now`: `int[0..]` — the caller's clock
- `row_id`: `int[1..]` — a row
- `event_kind`: `enum(OPENED|CLOSED|MOVED|LOST)` — every engine's event kinds
- `kind_note`: `string[1..64]` — a note
- `created_at`: `int[0..]` — when
- `idempotency_key`: `string[1..64]` — a retry key
"""

ECM = """# PH1.KIND ECM Spec

## Engine Header
- `engine_id`: `PH1.KIND`
- `purpose`: Record kinds of events.
- `data_owned`: `kind_events`
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `KIND_APPEND_EVENT`
- `name`: Append an event
- `input_schema`: `(now, tenant_id, INPUT, kind_note?, idempotency_key)`
- `output_schema`: `(row_id)`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `DECLARED (DB_WRITE)`

## Failure Modes + Reason Codes
- contract validation failure: `KIND_CONTRACT_VALIDATION_FAILED`
- idempotent replay: `KIND_IDEMPOTENCY_REPLAY`
"""

WIRING = """# PH1.KIND Wiring

## Spec Header
- `kind`: `ENGINE_WIRING`
- `engine_id`: `PH1.KIND`

## Tables

### `kind_events`
- `truth_type`: `LEDGER`
- `columns`: `(row_id, tenant_id, event_kind, kind_note?, created_at, idempotency_key)`
- `primary_key`: `row_id`
- `identity`: `row_id`
- `tenant_column`: `tenant_id`
- `column_types`:
  - `event_kind`: `enum(OPENED|CLOSED)`
- `idempotency_keys`:
  - `ux_kind_events_idempotency`: `(tenant_id, idempotency_key)`

## Capability Bindings

### `KIND_APPEND_EVENT`
- `operation`: `append`
- `table`: `kind_events`
- `fill`: `(created_at=now, FILL)`
- `event_type`: `NONE`

## Reason Code Roles
- `contract_validation`: `KIND_CONTRACT_VALIDATION_FAILED`
- `idempotency_replay`: `KIND_IDEMPOTENCY_REPLAY`
- `scope_violation`: `KIND_CONTRACT_VALIDATION_FAILED`
- `append_only_violation`: `KIND_CONTRACT_VALIDATION_FAILED`
- `caller_refused`: `KIND_CONTRACT_VALIDATION_FAILED`
"""


def _texts(field: str = "event_kind", fill: str = "") -> dict[str, str]:
    wiring = WIRING.replace(", FILL", f", event_kind={field}" if fill else "")
    return {
        "common/kind_fields.md": FIELDS,
        "common/callers.md": (SPECS / "common/callers.md").read_text(encoding="utf-8"),
        "ecm/PH1_KIND.md": ECM.replace("INPUT", field),
        "wiring/PH1_KIND.md": wiring,
    }


@pytest.mark.parametrize(
    ("field", "fill"),
    [("event_kind", False), ("event_kind?", False), ("event_kind", True)],
)
def test_the_field_takes_its_columns_own_type(field: str, fill: bool) -> None:
    result = compile_texts({f"specs/{p}": t for p, t in _texts(field, "1" if fill else "").items()})
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    [cap] = [c for e in result.program.engines for c in e.capabilities]
    name = field.rstrip("?")
    [member] = [m for m in cap.input_fields if m.name == name]
    typed = member.type
    assert typed.typed_by == "table"  # type: ignore[union-attr]
    assert typed.scalar.labels == ("OPENED", "CLOSED")  # type: ignore[union-attr]


def test_a_field_of_another_name_written_by_fill_takes_the_columns_type() -> None:
    texts = _texts("kind_note")
    texts["common/kind_fields.md"] += "- `move_kind`: `enum(OPENED|MOVED)` — a move's kind\n"
    texts["ecm/PH1_KIND.md"] = texts["ecm/PH1_KIND.md"].replace(
        "kind_note, kind_note?", "move_kind, kind_note?"
    )
    texts["wiring/PH1_KIND.md"] = texts["wiring/PH1_KIND.md"].replace(
        "(created_at=now)", "(created_at=now, event_kind=move_kind)"
    )
    result = compile_texts({f"specs/{p}": t for p, t in texts.items()})
    [cap] = [c for e in result.program.engines for c in e.capabilities]
    [member] = [m for m in cap.input_fields if m.name == "move_kind"]
    assert member.type.scalar.labels == ("OPENED", "CLOSED")  # type: ignore[union-attr]


@pytest.fixture
def runtime(tmp_path: Path, import_generated: Callable[[Path, str], ModuleType]) -> Runtime:
    root = make_project(tmp_path / "p", "kind_ecm", _texts(), keep_project=False)
    _, report = build(load_config(root))
    assert report is not None
    import_generated(root, "kind_ecm")
    return Runtime.open("sqlite:///:memory:", package="kind_ecm")


def test_the_contract_refuses_what_the_table_would(runtime: Runtime) -> None:
    ctx = runtime.context("SELENE_OS", "t1")
    call = {"now": 5, "tenant_id": "t1", "idempotency_key": "k1"}
    with pytest.raises(ContractViolation) as refused:
        # The dictionary admits MOVED; the table's CHECK does not.
        runtime.invoke(ctx, "KIND_APPEND_EVENT", {**call, "event_kind": "MOVED"})
    assert refused.value.reason_code == "KIND_CONTRACT_VALIDATION_FAILED"
    assert "check constraint" not in str(refused.value).lower()  # refused before storage
    written = runtime.invoke(ctx, "KIND_APPEND_EVENT", {**call, "event_kind": "CLOSED"})
    assert not written.replayed and written.id is not None
    runtime.close()
