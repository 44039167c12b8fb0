"""Lower every spec's syntax into one `Program`, reporting what does not resolve.

Order matters and is fixed: the field dictionary, then caller policies, then record names (so
any schema may name any record), tables, records, engines, and last the wiring that refers to
engines (lifecycles, audit event types, bindings, reason-code roles, the tool path); a bound
capability's input then takes its table's own column types.
"""

from __future__ import annotations

from typing import Any

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.reader import SpecFile
from ecmc.frontend.syntax import CompanionSection, CompanionSyntax, EngineSyntax, SpecSyntax
from ecmc.ir import Engine, Program
from ecmc.resolve.audit_events import resolve_event_types
from ecmc.resolve.bindings import WiringContext, resolve_binding
from ecmc.resolve.bound_types import type_by_tables
from ecmc.resolve.callers import resolve_callers
from ecmc.resolve.companions import SECTIONS_BY_KIND, Companion, read_companion
from ecmc.resolve.dictionary import build_dictionary
from ecmc.resolve.engine import resolve_engine
from ecmc.resolve.lifecycles import resolve_lifecycle
from ecmc.resolve.records import collect_records, resolve_record
from ecmc.resolve.schemas import check_restated, collect_schemas
from ecmc.resolve.tables import resolve_tables
from ecmc.resolve.types import TypeResolver
from ecmc.resolve.wiring import (
    resolve_reason_code_roles,
    resolve_tool_path,
    resolve_wiring_reason_codes,
)


class _Sections:
    """The sections of every companion spec, by kind, with the companion each came from."""

    def __init__(self, companions: list[Companion]) -> None:
        self.companions = companions

    def __call__(self, kind: str) -> list[tuple[Companion, CompanionSection]]:
        return [(c, s) for c in self.companions for s in c.sections if s.kind == kind]

    def of_kinds(self, kinds: frozenset[str]) -> list[CompanionSection]:
        return [s for c in self.companions for s in c.sections if s.kind in kinds]


def resolve_program(parsed: list[tuple[SpecFile, SpecSyntax]], diagnostics: Diagnostics) -> Program:
    companions = [
        read_companion(syntax, diagnostics)
        for _, syntax in parsed
        if isinstance(syntax, CompanionSyntax)
    ]
    sections = _Sections(companions)
    dictionary = build_dictionary(
        sections.of_kinds(SECTIONS_BY_KIND["FIELD_DICTIONARY"]), diagnostics
    )
    caller_classes, policies = resolve_callers(sections, diagnostics)
    record_entries = collect_records(sections("records"), diagnostics)
    variants = {
        name: frozenset(v.name.text for v in entry.children)
        for name, (_, entry) in record_entries.items()
    }
    resolver = TypeResolver(dictionary, variants, diagnostics)
    tables = resolve_tables(sections("tables"), resolver, diagnostics)
    table_map = {t.name: t for t in tables}
    records = [
        resolve_record(companion.engine_id, entry, resolver, table_map, diagnostics)
        for companion, entry in record_entries.values()
    ]
    record_map = {r.name: r for r in records}
    restated = collect_schemas(
        [(c.engine_id or "", s) for c, s in sections("schemas")], diagnostics
    )
    engines = [
        resolve_engine(syntax, spec.digest, resolver, policies, record_map, restated, diagnostics)
        for spec, syntax in parsed
        if isinstance(syntax, EngineSyntax)
    ]
    engine_map = {e.engine_id: e for e in engines if e.engine_id}
    check_restated(restated, engine_map, diagnostics)
    _wired_engines_exist(companions, engine_map, diagnostics)
    wiring_codes = resolve_wiring_reason_codes(sections("reason_codes"), diagnostics)
    declared_codes = {rc.code for e in engines for rc in e.reason_codes} | {
        rc.code for _, rc in wiring_codes
    }
    event_types = tuple(
        resolve_event_types(
            [(c.engine_id or "", s) for c, s in sections("audit_event_types")],
            engine_map,
            dictionary,
            diagnostics,
        )
    )
    context = WiringContext(
        engine_map, table_map, record_map, resolver, declared_codes, event_types, diagnostics
    )
    wiring = _wiring(sections, context)
    return Program(
        engines=tuple(type_by_tables(engines, wiring["bindings"], tables)),
        fields=tuple(dictionary.fields[name] for name in sorted(dictionary.fields)),
        conventions=tuple(dictionary.conventions),
        caller_classes=tuple(caller_classes),
        caller_policies=tuple(policies.values()),
        records=tuple(records),
        tables=tuple(tables),
        wiring_reason_codes=tuple(wiring_codes),
        audit_event_types=event_types,
        enum_reason_codes=tuple(
            (c.engine_id, c.syntax.header_span)
            for c in companions
            if c.enum_reason_codes and c.engine_id
        ),
        inputs=tuple((spec.path, spec.digest) for spec, _ in parsed),
        **wiring,
    )


def _wiring(sections: _Sections, context: WiringContext) -> dict[str, Any]:
    """What the wiring specs say the runtime does: lifecycles, bindings, roles, tool paths."""
    engines, tables = context.engines, context.tables
    codes, diagnostics = context.declared_codes, context.diagnostics
    bindings = [
        resolve_binding(companion.engine_id or "", entry, context)
        for companion, section in sections("capability_bindings")
        for entry in section.entries
    ]
    return {
        "lifecycles": tuple(
            resolve_lifecycle(companion.engine_id or "", entry, engines, tables, codes, diagnostics)
            for companion, section in sections("lifecycles")
            for entry in section.entries
        ),
        "bindings": tuple(b for b in bindings if b is not None),
        "reason_code_roles": tuple(
            resolve_reason_code_roles(sections("reason_code_roles"), codes, diagnostics)
        ),
        "tool_paths": tuple(
            resolve_tool_path(companion.engine_id or "", section, engines, codes, diagnostics)
            for companion, section in sections("tool_path")
        ),
    }


def _wired_engines_exist(
    companions: list[Companion], engines: dict[str, Engine], diagnostics: Diagnostics
) -> None:
    for companion in companions:
        if companion.engine_id is not None and companion.engine_id not in engines:
            diagnostics.report(
                Code.UNKNOWN_ENGINE,
                companion.syntax.header_span,
                f"wiring for engine {companion.engine_id!r}, which no ECM spec declares",
            )
