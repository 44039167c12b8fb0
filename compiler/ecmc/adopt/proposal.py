"""What a drafted binding is, and the readings every drafting rule shares: the words of an id,
a table's keys, how a row is filled, how an entry is written and marked.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecm_contract import AUDIT_REQUIRED, CLOCK_FIELD, Operation, TruthType

from ecmc.adopt.projections import is_write_time
from ecmc.adopt.records import snake
from ecmc.ir import Capability, Engine, Table
from ecmc.resolve.bindings import DIGEST
from ecmc.resolve.dictionary import INFERRED

_OUTCOME_WORDS = frozenset({"OK", "FAIL", "FAILED", "ERROR", "ERR"})
_STOP_WORDS = frozenset({"commit", "row", "rows", "execute", "query", "the", "a", "of"})


@dataclass(frozen=True, slots=True)
class Declaration:
    """An entry the binding needs its engine's wiring to declare: an event type, a code."""

    section: str
    name: str
    entry: str


@dataclass(frozen=True, slots=True)
class BindingDraft:
    capability_id: str
    operation: str
    entry: str
    declares: tuple[Declaration, ...] = ()


def words(text: str) -> set[str]:
    """The lower-case words of an id, a name or a title (`ART_UPSERT_ROW`, `ToolCacheRow`)."""
    return set(snake(text).split("_")) - {""}


def action_name(cap: Capability, engine: Engine) -> str:
    """What the capability does, as a name (an event type, a lifecycle action): its id
    without the engine's prefix and the words every write has."""
    parts = cap.id.split("_")
    prefix = engine.engine_id.replace(".", "").upper()
    kept = [p for p in parts if p.lower() not in _STOP_WORDS and p != prefix]
    return "_".join(kept or parts)


def common_prefix(codes: list[str]) -> str:
    """The words an engine's codes begin with, less outcome words (`E_FAIL_...` -> `E`)."""
    if not codes:
        return ""
    first = codes[0].split("_")
    size = 0
    while size < len(first) - 1 and all(
        c.split("_")[: size + 1] == first[: size + 1] for c in codes
    ):
        size += 1
    while size and first[size - 1] in _OUTCOME_WORDS:
        size -= 1
    return "_".join(first[:size])


def is_audit_log(table: Table) -> bool:
    columns = {c.name for c in table.columns}
    return table.truth_type is TruthType.LEDGER and all(c in columns for c in AUDIT_REQUIRED)


def keyed_table(cap: Capability, owned: list[Table]) -> tuple[Table, tuple[str, ...]] | None:
    """The one owned table whose primary key (else one unique key) the capability's input
    carries, with that key."""
    inputs = {m.name for m in cap.input_fields}
    for keys_of in (_primary_key, _unique_keys):
        keyed = [(t, k) for t in owned for k in keys_of(t) if k and set(k) <= inputs]
        if keyed:
            return keyed[0] if len(keyed) == 1 else None
    return None


def _primary_key(table: Table) -> list[tuple[str, ...]]:
    return [table.primary_key]


def _unique_keys(table: Table) -> list[tuple[str, ...]]:
    return [k.columns for k in table.unique_keys]


def fill_from(table: Table, inputs: set[str]) -> list[str] | None:
    """How the input becomes a row: the required columns it lacks, each filled by the call's
    clock or its digest; None when one cannot be."""
    fill = []
    for column in table.columns:
        if column.nullable or column.name in inputs or column.name == table.identity:
            continue
        if is_write_time(column.name) and column.type.base == "int" and CLOCK_FIELD in inputs:
            fill.append(f"{column.name}={CLOCK_FIELD}")
        elif "hash" in column.name and column.type.base == "string":
            fill.append(f"{column.name}={DIGEST}")
        else:
            return None
    return fill


def event_type(name: str, why: str) -> Declaration:
    lines = [f"### `{name}`", "- `severity`: `INFO`", f"- `description`: {INFERRED} from {why}."]
    return Declaration("Audit Event Types", name, "\n".join(lines))


def names(key: str, names: tuple[str, ...] | list[str]) -> str:
    return f"- `{key}`: `({', '.join(names)})`"


def entry(
    cap: Capability,
    operation: Operation,
    table: Table | None,
    keys: list[str],
    why: str,
    declares: list[Declaration] | None = None,
) -> BindingDraft:
    lines = [f"### `{cap.id}`", f"- `operation`: `{operation}`"]
    lines += [f"- `table`: `{table.name}`"] if table is not None else []
    lines += keys
    lines.append(f"- `description`: {INFERRED} from {why}.")
    return BindingDraft(cap.id, str(operation), "\n".join(lines), tuple(declares or ()))
