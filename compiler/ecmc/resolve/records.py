"""Records of the wiring specs: fields, rows of tables, aliases of fields, variants."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import keyed, value_text
from ecmc.frontend.syntax import Bullet, CompanionSection, Entry
from ecmc.ir import Member, Record, Table, TypeRef, Variant
from ecmc.resolve.companions import Companion
from ecmc.resolve.dictionary import report_unconfirmed
from ecmc.resolve.types import TypeResolver
from ecmc.typeref import ScalarRef

RECORD_KEYS = frozenset({"fields", "row_of", "alias_of", "description"})


VARIANT_KEYS = frozenset({"fields", "description", "action"})


RECORD_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")


VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]*")


RESERVED_RECORD_NAMES = frozenset({"SpecModel"})


def resolve_record(
    engine_id: str | None,
    entry: Entry,
    resolver: TypeResolver,
    tables: Mapping[str, Table],
    diagnostics: Diagnostics,
) -> Record:
    name = entry.name.text
    keys = keyed(entry.keys, RECORD_KEYS, f"record {name}", diagnostics)
    given = [k for k in ("fields", "row_of", "alias_of") if k in keys]
    if len(given) != 1:
        diagnostics.report(
            Code.BAD_RECORD,
            entry.name.span,
            f"record {name} needs exactly one of 'fields', 'row_of', 'alias_of'"
            + (f"; has {', '.join(given)}" if given else ""),
        )
    report_unconfirmed(
        value_text(keys.get("description")), entry.name.span, f"record {name}", diagnostics
    )
    row_of = value_text(keys.get("row_of")) or None
    members, alias_of = _members(name, keys, row_of, resolver, tables, diagnostics)
    variants = [_variant(name, child, members, resolver, diagnostics) for child in entry.children]
    return Record(
        name=name,
        engine_id=engine_id,
        members=members,
        variants=tuple(variants),
        row_of=row_of,
        alias_of=alias_of,
        description=value_text(keys.get("description")),
        span=entry.name.span,
    )


def _members(
    name: str,
    keys: Mapping[str, Bullet],
    row_of: str | None,
    resolver: TypeResolver,
    tables: Mapping[str, Table],
    diagnostics: Diagnostics,
) -> tuple[tuple[Member, ...], TypeRef | None]:
    """A record's fields: as listed, a table's row, or none for an alias (and its target)."""
    if "fields" in keys and keys["fields"].value is not None:
        return resolver.members(keys["fields"].value) or (), None
    if row_of is not None:
        table = tables.get(row_of)
        if table is None:
            bullet = keys["row_of"]
            diagnostics.report(
                Code.BAD_RECORD,
                bullet.value.span if bullet.value else bullet.span,
                f"record {name}: row_of names unknown table {row_of!r}",
            )
            return (), None
        return tuple(
            Member(c.name, ScalarRef(c.span, c.name, c.type, c.typed_by), c.nullable, (), c.span)
            for c in table.columns
        ), None
    if "alias_of" in keys and keys["alias_of"].value is not None:
        return (), resolver.schema(keys["alias_of"].value).type
    return (), None


def _variant(
    name: str,
    child: Entry,
    members: tuple[Member, ...],
    resolver: TypeResolver,
    diagnostics: Diagnostics,
) -> Variant:
    """A variant: its record's fields plus its own, and its other keys as attributes."""
    what = f"variant {name}::{child.name.text}"
    vkeys = keyed(child.keys, VARIANT_KEYS, what, diagnostics)
    report_unconfirmed(value_text(vkeys.get("description")), child.name.span, what, diagnostics)
    extra: tuple[Member, ...] = ()
    if "fields" in vkeys and vkeys["fields"].value is not None:
        extra = resolver.members(vkeys["fields"].value) or ()
    base_names = {m.name for m in members}
    for member in extra:
        if member.name in base_names:
            diagnostics.report(
                Code.DUPLICATE_FIELD,
                member.span,
                f"variant field {member.name!r} is already a field of {name}",
            )
    combined = members + tuple(m for m in extra if m.name not in base_names)
    attributes = []
    seen: dict[str, str] = {"VARIANT": "variant"}
    for key, bullet in vkeys.items():
        if key in ("fields", "description"):
            continue
        # Each other key is a class attribute of the variant's model, by its name in capitals.
        clash = seen.get(key.upper())
        if not VARIANT_NAME.fullmatch(key) or clash is not None:
            why = f"is the same name as {clash!r}" if clash else "is not a snake_case name"
            diagnostics.report(
                Code.BAD_RECORD,
                bullet.key.span if bullet.key else bullet.span,
                f"{what}: key {key!r} {why}: a variant's keys become attributes of its model",
            )
            continue
        seen[key.upper()] = key
        attributes.append((key, value_text(bullet)))
    return Variant(child.name.text, combined, tuple(attributes), child.name.span)


def collect_records(
    sections: list[tuple[Companion, CompanionSection]], diagnostics: Diagnostics
) -> dict[str, tuple[Companion, Entry]]:
    """The record entries by name, before any is resolved, so any schema may name any record.
    Bad names and variant names are reported and dropped; a record defined twice keeps the
    first definition."""
    entries: dict[str, tuple[Companion, Entry]] = {}
    for companion, section in sections:
        for entry in section.entries:
            checked = _checked_entry(entry, diagnostics)
            if checked is None:
                continue
            if checked.name.text in entries:
                first = entries[checked.name.text][1].name.span
                diagnostics.report(
                    Code.DUPLICATE_RECORD,
                    checked.name.span,
                    f"record {checked.name.text!r} is defined twice",
                    f"first at {first}",
                )
                continue
            entries[checked.name.text] = (companion, checked)
    return entries


def _checked_entry(entry: Entry, diagnostics: Diagnostics) -> Entry | None:
    name = entry.name.text
    if not RECORD_NAME.fullmatch(name) or name in RESERVED_RECORD_NAMES:
        clash = " and not a name the generated code uses" if RECORD_NAME.fullmatch(name) else ""
        diagnostics.report(
            Code.BAD_RECORD,
            entry.name.span,
            f"record name {name!r} must be PascalCase letters and digits{clash}",
        )
        return None
    dropped = [v for v in entry.children if not VARIANT_NAME.fullmatch(v.name.text)]
    for variant in dropped:
        diagnostics.report(
            Code.BAD_RECORD,
            variant.name.span,
            f"variant name {variant.name.text!r} must be snake_case",
        )
    first_variant: dict[str, Entry] = {}
    for variant in entry.children:
        earlier = first_variant.setdefault(variant.name.text, variant)
        if earlier is not variant:
            diagnostics.report(
                Code.BAD_RECORD,
                variant.name.span,
                f"{name}: variant {variant.name.text!r} is defined twice",
                f"first at {earlier.name.span}",
            )
            dropped.append(variant)
    if not dropped:
        return entry
    return dataclasses.replace(entry, children=tuple(v for v in entry.children if v not in dropped))
