"""An input field that a binding writes to (or looks up by) a column its table types itself
(`column_types`) takes that column's type: the capability's model admits what the table holds,
not the dictionary's type for the name (another table's `status` labels), so a value the
table's CHECK would refuse is refused by the contract, before any storage work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from ecmc.ir import Capability, CapabilityBinding, Column, Engine, Schema, Table
from ecmc.resolve.column_types import TYPED_BY
from ecmc.typeref import InlineRecordRef, Member, OptionRef, ScalarRef, TupleRef, TypeRef


def type_by_tables(
    engines: Iterable[Engine], bindings: Iterable[CapabilityBinding], tables: Iterable[Table]
) -> list[Engine]:
    """The engines, each bound capability's input fields typed by their columns' own types."""
    owned = {t.name: {c.name: c for c in t.columns if c.typed_by == TYPED_BY} for t in tables}
    by_capability: dict[str, dict[str, Column]] = {}
    for binding in bindings:
        own = owned.get(binding.table or "", {})
        if own:
            written = dict(own)
            # `fill: (column=field)`: the field is written to the column.
            written.update({field: own[col] for col, field in binding.fill if col in own})
            by_capability[binding.capability_id] = written
    return [
        dataclasses.replace(
            engine,
            capabilities=tuple(
                _retyped(cap, by_capability[cap.id]) if cap.id in by_capability else cap
                for cap in engine.capabilities
            ),
        )
        for engine in engines
    ]


def _retyped(cap: Capability, columns: Mapping[str, Column]) -> Capability:
    schema = cap.input
    if schema is not None:
        schema = Schema(schema.text, _top(schema.type, columns))
    fields = tuple(_member(m, columns) for m in cap.input_fields)
    return dataclasses.replace(cap, input=schema, input_fields=fields)


def _top(ref: TypeRef, columns: Mapping[str, Column]) -> TypeRef:
    """The input with its own fields retyped (a named record's are its record's)."""
    if isinstance(ref, TupleRef | InlineRecordRef):
        return dataclasses.replace(ref, members=tuple(_member(m, columns) for m in ref.members))
    if isinstance(ref, ScalarRef | OptionRef):
        return _typed(ref, columns)
    return ref


def _member(member: Member, columns: Mapping[str, Column]) -> Member:
    return dataclasses.replace(member, type=_typed(member.type, columns))


def _typed(ref: TypeRef, columns: Mapping[str, Column]) -> TypeRef:
    if isinstance(ref, OptionRef):
        return dataclasses.replace(ref, item=_typed(ref.item, columns))
    column = columns.get(ref.name) if isinstance(ref, ScalarRef) else None
    if isinstance(ref, ScalarRef) and column is not None:
        return ScalarRef(ref.span, ref.name, column.type, TYPED_BY)
    return ref
