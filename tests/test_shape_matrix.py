"""What `ecmc lint` accepts, the runtime runs: every combination of input shape, operation and
key type either gets a compile diagnostic or builds into a capability that runs.

Each combination is an engine of its own (ECM + wiring, no Python). Each is compiled alone
first; those without errors are built together into one package, and each of their
capabilities is invoked on SQLite with a payload made from its own input schema, by a caller
it admits, in the tenant its payload names: every one returns a result.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from ecm_runtime import Runtime

from conftest import compile_with_project, make_project
from ecmc.commands.build import build
from ecmc.config import load_config
from storage import example

SHAPES = ("field", "tuple", "record", "record_in_tuple", "alias", "none")
OPERATIONS = ("append", "upsert", "read_one", "read_many", "read_map")
KEYS = {"text": ("item_id",), "integer": ("item_no",), "composite": ("item_id", "item_no")}
WRITES = ("append", "upsert")
TENANT = "tenant-1"
FIELDS = """# Matrix Fields

## Spec Header
- `kind`: `FIELD_DICTIONARY`

## Fields
- `item_no`: `int[0..1000000]` — a numeric item key
- `item_note`: `string[1..64]` — what the item says
- `row_no`: `int[1..9223372036854775807]` — append order
"""


@dataclass(frozen=True)
class Combo:
    shape: str
    operation: str
    key: str

    @property
    def n(self) -> str:
        indexes = (SHAPES.index(self.shape), OPERATIONS.index(self.operation))
        return "".join(map(str, indexes)) + str(list(KEYS).index(self.key))

    @property
    def engine(self) -> str:
        return f"MATRIX.E{self.n}"

    @property
    def capability(self) -> str:
        return f"MX{self.n}_RUN"

    @property
    def table(self) -> str:
        return f"matrix_{self.n}"

    def specs(self) -> dict[str, str]:
        n, key = self.n, KEYS[self.key]
        ledger = self.operation == "append"
        writes = self.operation in WRITES
        row_columns = ("tenant_id", *key, "item_note")
        columns = ("row_no", *row_columns, "idempotency_key?") if ledger else row_columns
        table = [
            f"### `{self.table}`",
            f"- `truth_type`: `{'LEDGER' if ledger else 'CURRENT'}`",
            f"- `columns`: `({', '.join(columns)})`",
            f"- `primary_key`: `{'row_no' if ledger else '(tenant_id, ' + ', '.join(key) + ')'}`",
            "- `tenant_column`: `tenant_id`",
        ]
        if ledger:
            table += [
                "- `identity`: `row_no`",
                "- `idempotency_keys`:",
                f"  - `ux_{self.table}_idem`: `(tenant_id, idempotency_key)`",
            ]
        given = (*row_columns, "idempotency_key") if writes else ("tenant_id", *key)
        records = [f"### `Row{n}`", f"- `row_of`: `{self.table}`", ""]
        records += [f"### `Key{n}`", f"- `alias_of`: `{key[0]}`", ""]
        records += [f"### `Given{n}`", f"- `fields`: `({', '.join(given)})`", ""]
        input_schema = {
            "field": key[0],
            "tuple": f"({', '.join(given)})",
            "record": f"Given{n}",
            "record_in_tuple": f"(Row{n}, idempotency_key)" if writes else f"(Key{n}, tenant_id)",
            "alias": f"Key{n}",
            "none": "none",
        }[self.shape]
        key_type = f"Key{n}" if len(key) == 1 else f"({', '.join(key)})"
        output = {
            "append": "Result<row_no, StorageError>",
            "upsert": f"Result<{key_type}, StorageError>",
            "read_one": f"Option<Row{n}>",
            "read_many": f"Vec<Row{n}>",
            "read_map": f"Map<{key_type}, Row{n}>",
        }[self.operation]
        ecm = [
            f"# {self.engine} ECM Spec",
            "",
            "## Engine Header",
            f"- `engine_id`: `{self.engine}`",
            "- `purpose`: One shape of input, one operation, one kind of key.",
            f"- `data_owned`: `{self.table}`",
            "- `version`: `v1`",
            "- `status`: `ACTIVE`",
            "",
            "## Capability List",
            "",
            f"### `{self.capability}`",
            f"- `name`: Run {self.operation} on a {self.shape} input",
            f"- `input_schema`: `{input_schema}`",
            f"- `output_schema`: `{output}`",
            "- `allowed_callers`: `SELENE_OS_ONLY`",
            f"- `side_effects`: `{'DECLARED (DB_WRITE)' if writes else 'NONE'}`",
            "",
            "## Failure Modes + Reason Codes",
            f"- contract: `MX{n}_CONTRACT_VALIDATION_FAILED`",
            f"- replay: `MX{n}_IDEMPOTENCY_REPLAY`",
            f"- scope: `MX{n}_SCOPE_VIOLATION`",
            f"- written: `MX{n}_OK`",
            "",
            "## Audit Emission Requirements Per Capability",
            "- write capabilities emit PH1.J audit events with bounded keys:",
            "  - `item_note`",
            "  - `idempotency_key` when present",
        ]
        lookup = [k for k in ("tenant_id", *key) if k in given] if self.shape != "none" else []
        if self.shape in ("field", "alias"):
            lookup = [key[0]]
        if self.shape == "record_in_tuple" and not writes:
            lookup = ["tenant_id", key[0]]
        binding = [
            f"### `{self.capability}`",
            f"- `operation`: `{self.operation}`",
            f"- `table`: `{self.table}`",
        ]
        if writes:
            binding += ["- `event_type`: `MATRIX_WRITTEN`", f"- `reason_code`: `MX{n}_OK`"]
        elif lookup:
            binding.append(f"- `lookup`: `({', '.join(lookup)})`")
        wiring = [
            f"# {self.engine} Wiring",
            "",
            "## Spec Header",
            "- `kind`: `ENGINE_WIRING`",
            f"- `engine_id`: `{self.engine}`",
            "",
            "## Tables",
            "",
            *table,
            "",
            "## Records",
            "",
            *records,
            "## Audit Event Types",
            "",
            "### `MATRIX_WRITTEN`",
            "",
            "## Capability Bindings",
            "",
            *binding,
            "",
            "## Reason Code Roles",
            f"- `contract_validation`: `MX{n}_CONTRACT_VALIDATION_FAILED`",
            f"- `idempotency_replay`: `MX{n}_IDEMPOTENCY_REPLAY`",
            f"- `scope_violation`: `MX{n}_SCOPE_VIOLATION`",
            "",
        ]
        return {f"ecm/MX{n}.md": "\n".join(ecm) + "\n", f"wiring/MX{n}.md": "\n".join(wiring)}


COMBOS = [Combo(*c) for c in itertools.product(SHAPES, OPERATIONS, KEYS)]


def compiles_cleanly(combo: Combo) -> bool:
    texts = {f"specs/{path}": text for path, text in combo.specs().items()}
    texts["specs/common/matrix_fields.md"] = FIELDS
    result = compile_with_project(texts)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    for diagnostic in errors:  # a refusal is located in the combination's own specs
        assert diagnostic.span.path.startswith("specs/"), diagnostic
    return not errors


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, list[Combo]]]:
    clean = [combo for combo in COMBOS if compiles_cleanly(combo)]
    specs: dict[str, str] = {"common/matrix_fields.md": FIELDS}
    for combo in clean:
        specs.update(combo.specs())
    root = make_project(tmp_path_factory.mktemp("matrix") / "project", "matrix_ecm", specs)
    project, report = build(load_config(root))
    assert not project.result.has_errors, project.result.diagnostics[:5]
    assert report is not None
    sys.path.insert(0, str(root / "generated"))
    importlib.invalidate_caches()
    rt = Runtime.open(f"sqlite:///{root / 'matrix.sqlite3'}", package="matrix_ecm")
    yield rt, clean
    rt.close()
    sys.path.remove(str(root / "generated"))
    for name in [m for m in sys.modules if m.split(".")[0] == "matrix_ecm"]:
        del sys.modules[name]


def test_most_combinations_compile(runtime: tuple[Runtime, list[Combo]]) -> None:
    _, clean = runtime
    # Every operation on every key type compiles from a tuple, a record and a record in a
    # tuple; what is refused is refused for a reason (a write given one field only).
    for operation, key in itertools.product(OPERATIONS, KEYS):
        for shape in ("tuple", "record", "record_in_tuple"):
            assert Combo(shape, operation, key) in clean, (shape, operation, key)
    for key in KEYS:
        assert Combo("field", "upsert", key) not in clean  # nothing provides its columns


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: f"{c.shape}-{c.operation}-{c.key}")
def test_every_clean_combination_runs(runtime: tuple[Runtime, list[Combo]], combo: Combo) -> None:
    rt, clean = runtime
    if combo not in clean:
        return  # refused at compile time, with a located diagnostic
    spec = rt.capabilities[combo.capability]
    payload = example(spec.input_schema)
    payload.update({k: TENANT for k in ("tenant_id",) if k in payload})
    if "idempotency_key" in payload:  # the audit log keys its rows by thread and key
        payload["idempotency_key"] = combo.capability
    ctx = rt.context(caller=spec.callers[0], tenant_id=TENANT)
    rt.invoke(ctx, combo.capability, payload)
    if combo.operation in WRITES:  # and a retry of the same key replays
        assert rt.invoke(ctx, combo.capability, payload).replayed  # type: ignore[attr-defined]
