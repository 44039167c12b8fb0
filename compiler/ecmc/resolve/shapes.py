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
from ecmc.ir import Member, Record, TypeRef

_WRAPPERS = ("result", "option", "list")


def input_fields(
    ref: TypeRef, records: Mapping[str, Record], cap_id: str, diagnostics: Diagnostics
) -> tuple[Member, ...]:
    """The flat fields of an input, in order; problems are reported, never raised."""
    if ref.kind in ("unit", "error"):
        return ()
    if ref.kind == "scalar" and ref.name:
        return (Member(ref.name, ref, False, (), ref.span),)
    if ref.kind == "option" and ref.args[0].kind == "scalar" and ref.args[0].name:
        inner = ref.args[0]
        return (Member(inner.name or "", inner, True, (), ref.span),)
    record = records.get(ref.name or "") if ref.kind == "record" else None
    if record is not None:
        return record_fields(record, ref.variant)
    if ref.kind in ("tuple", "inline_record"):
        return _spread(ref.members, records, cap_id, diagnostics)
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
        return (Member(target.name or "", target, False, (), record.span),) if target.name else ()
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
        record = records.get(member.type.name or "") if member.type.kind == "record" else None
        if member.name:
            parts: tuple[Member, ...] = (member,)
        elif record is not None:
            parts = record_fields(record, member.type.variant)
        elif member.type.kind == "error":
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


def output_row(ref: TypeRef | None, records: Mapping[str, Record]) -> TypeRef | None:
    """The record a read returns rows as: inside Result, Option, lists and a Map's values.
    None when the output holds no record with fields (a scalar, an alias, unit)."""
    while ref is not None and (ref.kind in _WRAPPERS or ref.kind == "map"):
        ref = ref.args[1 if ref.kind == "map" else 0]
    if ref is None:
        return None
    record = records.get(ref.name or "") if ref.kind == "record" else None
    if record is not None:
        return None if record.alias_of is not None else ref
    if ref.kind in ("tuple", "inline_record") and any(m.name for m in ref.members):
        return ref
    return None


def map_key_fields(ref: TypeRef | None, records: Mapping[str, Record]) -> tuple[str, ...]:
    """The fields that key a `Map<K, V>` output: a tuple's fields, a field, an alias's field."""
    while ref is not None and ref.kind == "result":
        ref = ref.args[0]
    if ref is None or ref.kind != "map":
        return ()
    key = ref.args[0]
    record = records.get(key.name or "") if key.kind == "record" else None
    if record is not None:
        return tuple(m.name for m in record_fields(record))
    if key.members:
        return tuple(m.name for m in key.members if m.name)
    return (key.name,) if key.kind == "scalar" and key.name else ()
