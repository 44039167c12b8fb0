"""What a capability's input and output are as fields: the shapes the runtime can run.

A spec writes an input as one field, a tuple of fields, a record, a record's variant, an alias
of a field, or `none`; a record (or an alias) inside a tuple spreads its fields into the input,
so `(SessionRecord, idempotency_key)` takes the record's fields and the key, flat. Every such
shape lowers to the flat fields a call carries. A shape that cannot be an input (a list, a map,
a generic) is a located error here, not a failure at run time.
"""

from __future__ import annotations

from collections.abc import Mapping

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.ir import Program, Record
from ecmc.typeref import (
    ErrorRef,
    InlineRecordRef,
    ListRef,
    MapRef,
    Member,
    OptionRef,
    RecordRef,
    ResultRef,
    ScalarRef,
    TupleRef,
    TypeRef,
    UnitRef,
)


def input_fields(
    ref: TypeRef, records: Mapping[str, Record], cap_id: str, diagnostics: Diagnostics
) -> tuple[Member, ...]:
    """The flat fields of an input, in order; problems are reported, never raised."""
    match ref:
        case UnitRef() | ErrorRef():
            return ()
        case ScalarRef(name=name):
            return (Member(name, ref, False, (), ref.span),)
        case OptionRef(item=ScalarRef(name=name) as inner):
            return (Member(name, inner, True, (), ref.span),)
        case RecordRef(name=name, variant=variant) if name in records:
            return record_fields(records[name], variant)
        case TupleRef(members=members) | InlineRecordRef(members=members):
            return _spread(members, records, cap_id, diagnostics)
    diagnostics.report(
        Code.MISPLACED_TYPE,
        ref.span,
        f"{cap_id}: an input is a field, a tuple of fields, a record or none, not a {ref.kind}",
    )
    return ()


def record_fields(record: Record, variant: str | None = None) -> tuple[Member, ...]:
    """A record's fields (a variant's are its record's plus its own); an alias's one field."""
    if record.alias_of is not None:
        target = record.alias_of
        if isinstance(target, ScalarRef):
            return (Member(target.name, target, False, (), record.span),)
        return ()
    members = record.members
    chosen = next((v for v in record.variants if v.name == variant), None)
    if chosen is not None:
        known = {m.name for m in members}
        members = members + tuple(m for m in chosen.members if m.name not in known)
    return members


def _spread(
    members: tuple[Member, ...],
    records: Mapping[str, Record],
    cap_id: str,
    diagnostics: Diagnostics,
) -> tuple[Member, ...]:
    flat: list[Member] = []
    seen: dict[str, Member] = {}
    for member in members:
        kind = member.type
        if member.name:
            parts: tuple[Member, ...] = (member,)
        elif isinstance(kind, RecordRef) and kind.name in records:
            parts = record_fields(records[kind.name], kind.variant)
        elif isinstance(kind, ErrorRef):
            continue
        else:
            diagnostics.report(
                Code.MISPLACED_TYPE,
                member.span,
                f"{cap_id}: an input tuple holds fields and records, not a {member.type.kind}",
            )
            continue
        for part in parts:
            earlier = seen.get(part.name)
            if earlier is None:
                seen[part.name] = part
                flat.append(part)
            elif earlier.optional and not part.optional:
                # The same dictionary field twice, e.g. a row's nullable idempotency_key and
                # the tuple's own: one field, required if either says so.
                flat[flat.index(earlier)] = seen[part.name] = part
    return tuple(flat)


def output_row(
    ref: TypeRef | None, records: Mapping[str, Record]
) -> RecordRef | TupleRef | InlineRecordRef | None:
    """The record a read returns rows as: inside Result, Option, lists and a Map's values.
    None when the output holds no record with fields (a scalar, an alias, unit)."""
    match ref:
        case ResultRef(ok=inner) | OptionRef(item=inner) | ListRef(item=inner):
            return output_row(inner, records)
        case MapRef(value=inner):
            return output_row(inner, records)
        case RecordRef(name=name) if name in records:
            return None if records[name].alias_of is not None else ref
        case TupleRef(members=members) | InlineRecordRef(members=members) if any(
            m.name for m in members
        ):
            return ref
    return None


def map_key_fields(ref: TypeRef | None, records: Mapping[str, Record]) -> tuple[str, ...]:
    """The fields that key a `Map<K, V>` output: a tuple's fields, a field, an alias's field."""
    while isinstance(ref, ResultRef):
        ref = ref.ok
    if not isinstance(ref, MapRef):
        return ()
    match ref.key:
        case RecordRef(name=name) if name in records:
            return tuple(m.name for m in record_fields(records[name]))
        case TupleRef(members=members) | InlineRecordRef(members=members):
            return tuple(m.name for m in members if m.name)
        case ScalarRef(name=name):
            return (name,)
    return ()


def returned_members(program: Program, ref: TypeRef) -> tuple[Member, ...] | None:
    """The fields a caller reads from an output type (through `Result` and `Option`): a
    record's (or its variant's), a tuple's; None when the output is not a set of fields."""
    while isinstance(ref, ResultRef | OptionRef):
        ref = ref.ok if isinstance(ref, ResultRef) else ref.item
    if isinstance(ref, TupleRef | InlineRecordRef):
        return ref.members
    if not isinstance(ref, RecordRef):
        return None
    record = next((r for r in program.records if r.name == ref.name), None)
    if record is None:
        return None
    variant = next((v for v in record.variants if v.name == ref.variant), None)
    return variant.members if variant is not None else record.members
