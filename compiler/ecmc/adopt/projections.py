"""A CURRENT table drafted as the projection of a ledger, where the evidence says so.

The evidence: its DB wiring document calls it rebuildable from the ledger, or the ECM text
speaks of rebuilding and the table refers to the ledger's identity (`source_event_id` ->
`capreq_ledger.capreq_event_id`: the latest event applied). Columns the ledger holds under
the same name project as they are; the others by the readings below (`last_x` from `x`, a
reference to the ledger from its identity, a write time from the ledger's, an enum from the
one ledger column with the same labels), and a table with a column no reading fills is no
projection (a person says how it is kept).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ecmc.adopt.sql import SqlTable

_REBUILD = re.compile(r"\brebuil(?:d|t|dable)\b|\bprojection\b", re.I)
_WRITE_TIME = re.compile(r"(?:\w+_)?(?:created|updated|inserted|recorded|written|appended)_at")


def is_write_time(column: str) -> bool:
    """Whether a column records when its row was written (the call's clock fills it)."""
    return _WRITE_TIME.fullmatch(column) is not None


@dataclass(frozen=True, slots=True)
class Projection:
    ledger: str
    project: tuple[tuple[str, str], ...]
    """(current column, ledger column) for the columns not named alike."""
    why: str


def projection(
    table: SqlTable,
    tables: Mapping[str, SqlTable],
    is_ledger: Callable[[SqlTable], bool],
    stated: str | None,
    ecm_text: str,
) -> Projection | None:
    """The ledger `table` is a projection of, and how each of its columns is filled."""
    ledger, why = None, ""
    if stated is not None and stated in tables:
        ledger, why = tables[stated], "its DB wiring document calling it rebuildable from it"
    elif _REBUILD.search(ecm_text):
        for fk in table.foreign_keys:
            referred = tables.get(fk.table)
            if (
                referred is not None
                and is_ledger(referred)
                and referred.primary_key == fk.target_columns
            ):
                ledger = referred
                why = (
                    f"the ECM text on rebuilding and {', '.join(fk.columns)} naming the latest "
                    f"{fk.table} event"
                )
                break
    if ledger is None or not is_ledger(ledger):
        return None
    project = _project(table, ledger)
    return None if project is None else Projection(ledger.name, project, why)


def _project(table: SqlTable, ledger: SqlTable) -> tuple[tuple[str, str], ...] | None:
    pairs: list[tuple[str, str]] = []
    identity = ledger.primary_key[0]
    written = next((c for c in ledger.columns if is_write_time(c)), None)
    for name in table.columns:
        if name in ledger.columns:
            continue
        source = None
        if name.startswith("last_") and name.removeprefix("last_") in ledger.columns:
            source = name.removeprefix("last_")
        elif any(fk.columns == (name,) and fk.table == ledger.name for fk in table.foreign_keys):
            source = identity
        elif is_write_time(name) and written is not None:
            source = written
        else:
            source = _same_labels(table.columns[name].labels, ledger)
        if source is None:
            return None
        pairs.append((name, source))
    return tuple(pairs)


def _same_labels(labels: tuple[str, ...], ledger: SqlTable) -> str | None:
    """The one ledger column whose CHECK allows exactly these labels (a current `status`
    kept from the ledger's `event_kind`)."""
    alike = [c.name for c in ledger.columns.values() if labels and set(c.labels) == set(labels)]
    return alike[0] if len(alike) == 1 else None
