"""Per-operation output variants (issue 25): `GET -> a / ROTATE -> a + b` is a union of one
record per variant, each knowing its label. A handler's answer must be one of them, and the
one the input's field of those labels names; without such a field, any one."""

from __future__ import annotations

import importlib
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ecm_runtime import Runtime
from ecm_runtime.errors import HandlerFailed

from conftest import SPECS, make_project
from ecmc.commands.build import build
from ecmc.config import load_config

ECM = """# PH1.VAULT ECM Spec

## Engine Header
- `engine_id`: `PH1.VAULT`
- `purpose`: Secrets by operation.
- `data_owned`: `none`
- `version`: `v1`
- `status`: `ACTIVE`

## Capability List

### `VAULT_SECRET_OP`
- `name`: Get or rotate a secret
- `input_schema`: `(tenant_id, vault_operation (GET|ROTATE|AUDIT), secret_name)`
- `output_schema`: `GET` -> `secret_value` / `ROTATE` -> `secret_value` + `rotated_at`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

### `VAULT_PEEK`
- `name`: Peek at a secret, either way
- `input_schema`: `(tenant_id, secret_name)`
- `output_schema`: `SHORT` -> `secret_value` / `LONG` -> `secret_value` + `rotated_at`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

## Failure Modes + Reason Codes
- contract validation failure: `VAULT_CONTRACT_VALIDATION_FAILED`
"""

DICTIONARY = """# Vault fields

## Spec Header
- `kind`: `FIELD_DICTIONARY`

## Fields
- `tenant_id`: `string[1..64]` — the tenant
- `secret_name`: `string[1..64]` — which secret
- `secret_value`: `string[1..64]` — the secret
- `rotated_at`: `int[0..9223372036854775807]` — when it was rotated
"""

GET = {"secret_value": "s"}
ROTATED = {"secret_value": "s", "rotated_at": 5}


@pytest.fixture
def engine(
    tmp_path: Path, import_generated: Callable[[Path, str], ModuleType]
) -> Iterator[ModuleType]:
    specs = {
        "ecm/VAULT.md": ECM,
        "common/vault_fields.md": DICTIONARY,
        "common/callers.md": (SPECS / "common/callers.md").read_text(encoding="utf-8"),
    }
    root = make_project(tmp_path / "p", "vault_ecm", specs, keep_project=False)
    _, report = build(load_config(root))
    assert report is not None
    import_generated(root, "vault_ecm")
    yield importlib.import_module("vault_ecm.engines.ph1_vault")


def test_each_variant_is_a_model_of_its_own_fields(engine: ModuleType) -> None:
    union = engine.SECRET_OP_SPEC.returns
    variants = typing.get_args(union)
    assert [v.VARIANT for v in variants] == ["GET", "ROTATE"]
    assert [list(v.model_fields) for v in variants] == [
        ["secret_value"],
        ["secret_value", "rotated_at"],
    ]
    # No field is made optional to admit every variant: each keeps its own.
    assert all(f.is_required() for v in variants for f in v.model_fields.values())
    assert engine.SECRET_OP_SPEC.variant_by == "vault_operation"
    assert engine.PEEK_SPEC.variant_by is None


def _answering(engine: ModuleType, answer: dict[str, Any]) -> Runtime:
    rt = Runtime.open("sqlite:///:memory:", package="vault_ecm")
    rt.handlers.register("VAULT_SECRET_OP", lambda call: answer)
    rt.handlers.register("VAULT_PEEK", lambda call: answer)
    return rt


@pytest.mark.parametrize(
    ("operation", "answer", "variant"),
    [
        ("GET", GET, "GET"),
        ("ROTATE", ROTATED, "ROTATE"),
        ("AUDIT", GET, "GET"),  # a label no variant has: any variant answers it
        ("AUDIT", ROTATED, "ROTATE"),
    ],
)
def test_the_answer_is_the_variant_the_input_names(
    engine: ModuleType, operation: str, answer: dict[str, Any], variant: str
) -> None:
    rt = _answering(engine, answer)
    ctx = rt.context("SELENE_OS", "t")
    call = {"tenant_id": "t", "vault_operation": operation, "secret_name": "k"}
    found = rt.invoke(ctx, "VAULT_SECRET_OP", call)
    assert (found.VARIANT, found.model_dump()) == (variant, answer)
    rt.close()


@pytest.mark.parametrize(
    ("operation", "answer", "said"),
    [
        ("GET", ROTATED, "vault_operation=GET answers its GET variant, not ROTATE"),
        ("ROTATE", GET, "vault_operation=ROTATE answers its ROTATE variant, not GET"),
        ("ROTATE", {"rotated_at": 5}, "breaks the output contract"),
        ("GET", {**ROTATED, "extra": 1}, "breaks the output contract"),
    ],
)
def test_another_variant_or_none_is_refused(
    engine: ModuleType, operation: str, answer: dict[str, Any], said: str
) -> None:
    rt = _answering(engine, answer)
    ctx = rt.context("SELENE_OS", "t")
    call = {"tenant_id": "t", "vault_operation": operation, "secret_name": "k"}
    with pytest.raises(HandlerFailed) as refused:
        rt.invoke(ctx, "VAULT_SECRET_OP", call)
    assert said in str(refused.value)
    assert refused.value.reason_code == "VAULT_CONTRACT_VALIDATION_FAILED"
    rt.close()


@pytest.mark.parametrize("answer", [GET, ROTATED])
def test_without_a_naming_field_any_variant_answers(
    engine: ModuleType, answer: dict[str, Any]
) -> None:
    rt = _answering(engine, answer)
    ctx = rt.context("SELENE_OS", "t")
    found = rt.invoke(ctx, "VAULT_PEEK", {"tenant_id": "t", "secret_name": "k"})
    assert found.model_dump() == answer
    rt.close()
