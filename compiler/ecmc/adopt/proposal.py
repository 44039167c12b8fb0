"""What a drafted binding is, and the readings every drafting rule shares: the words of an id,
a table's keys, how a row is filled, how an entry is written and marked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecm_contract import AUDIT_REQUIRED, CLOCK_FIELD, AuditColumn, Operation, TruthType

from ecmc.adopt.projections import is_write_time
from ecmc.adopt.records import snake
from ecmc.ir import Capability, Engine, Table
from ecmc.resolve.bindings import DIGEST
from ecmc.resolve.dictionary import INFERRED

_EVENT_NAME = re.compile(r"^\s*(?:=\s*)?`?([A-Z][A-Za-z0-9_]*)`?")
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
    carries, with that key; an input without the table's tenant column carries the rest of
    the key, and the caller's tenant, which every read is scoped to, completes it."""
    inputs = {m.name for m in cap.input_fields}
    for keys_of in (_primary_key, _unique_keys):
        keyed = [
            (t, k)
            for t in owned
            for key in keys_of(t)
            if (k := _held(key, t.tenant_column, inputs))
        ]
        if keyed:
            return keyed[0] if len(keyed) == 1 else None
    return None


def _held(key: tuple[str, ...], tenant: str | None, inputs: set[str]) -> tuple[str, ...]:
    """The part of a key the input gives: all of it, or all but the tenant column."""
    if set(key) <= inputs:
        return key
    rest = tuple(c for c in key if c != tenant)
    return rest if rest != key and rest and set(rest) <= inputs else ()


def _primary_key(table: Table) -> list[tuple[str, ...]]:
    return [table.primary_key]


def _unique_keys(table: Table) -> list[tuple[str, ...]]:
    """Keys that name one row: a partial key is unique only among some rows."""
    return [k.columns for k in table.unique_keys if not k.where]


def named_event_type(cap: Capability) -> str | None:
    """The event type the capability's ECM audit rule names (`event_type`: `X`, or
    `event_type=X`), if one."""
    for requirement in cap.audit:
        for key in requirement.keys:
            named = (
                _EVENT_NAME.search(key.qualifier) if key.name == AuditColumn.EVENT_TYPE else None
            )
            if named:
                return named.group(1)
    return None


def fill_from(table: Table, inputs: set[str]) -> list[str] | None:
    """How the input becomes a row: the required columns it lacks (and the database does not
    default), each filled by the call's clock or its digest; None when one cannot be."""
    fill = []
    for column in table.columns:
        if column.nullable or column.default is not None or column.name in inputs:
            continue
        if column.name == table.identity:
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
