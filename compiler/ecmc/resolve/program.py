"""Stage 4, resolve: lower every spec's syntax into one `Program`, reporting what does not resolve.

Order matters and is fixed: the field dictionary, then caller policies, then record names (so
any schema may name any record), tables, records, engines, and last the wiring that refers to
engines (lifecycles, audit event types, reason-code roles). Cross-spec rules run in `checks`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ecmc.check.rules import run_checks
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.extract import REASON_CODE
from ecmc.frontend.keys import bullet_names, keyed, name_list, names_in, pin_list, value_text
from ecmc.frontend.reader import SpecFile
from ecmc.frontend.syntax import (
    Bullet,
    CompanionSection,
    CompanionSyntax,
    EngineSyntax,
    Entry,
    SpecSyntax,
    Text,
)
from ecmc.ir import (
    CallerPolicy,
    Column,
    Engine,
    ForeignKey,
    Key,
    Lifecycle,
    Member,
    Program,
    ReasonCode,
    ReasonCodeRole,
    Record,
    Table,
    ToolPath,
    Transition,
    TypeRef,
    Variant,
)
from ecmc.resolve.audit_events import resolve_event_types
from ecmc.resolve.bindings import resolve_binding
from ecmc.resolve.dictionary import build_dictionary
from ecmc.resolve.engine import ENGINE_ID, resolve_engine
from ecmc.resolve.types import TypeResolver
from ecmc.span import Span

SECTIONS_BY_KIND: Mapping[str, frozenset[str]] = {
    "FIELD_DICTIONARY": frozenset({"conventions", "aliases", "fields"}),
    "CALLER_POLICIES": frozenset({"caller_classes", "caller_policies"}),
    "ENGINE_WIRING": frozenset(
        {
            "records",
            "tables",
            "lifecycles",
            "capability_bindings",
            "reason_codes",
            "reason_code_roles",
            "tool_path",
            "audit_event_types",
        }
    ),
}
COMPANION_HEADER_KEYS = frozenset({"kind", "engine_id", "purpose", "version", "status"})
TRUTH_TYPES = frozenset({"LEDGER", "CURRENT", "CACHE"})
TABLE_KEYS = frozenset(
    {
        "truth_type",
        "columns",
        "primary_key",
        "identity",
        "unique_keys",
        "idempotency_keys",
        "indexes",
        "foreign_keys",
        "projection_of",
        "ttl_column",
        "tenant_column",
        "scope",
        "project",
        "description",
    }
)
TABLE_SCOPES = ("TENANT", "GLOBAL")
RECORD_KEYS = frozenset({"fields", "row_of", "alias_of", "description"})
VARIANT_KEYS = frozenset({"fields", "description", "action"})
LIFECYCLE_KEYS = frozenset(
    {"states", "final_states", "ledger", "current", "state_column", "action_column", "description"}
)
ACTION_KEYS = frozenset({"capability", "from", "to", "reason_code", "description"})
# Names that reach generated code as identifiers or SQL names: checked here, so that emit
# never meets a name it cannot use. 63 is PostgreSQL's identifier limit.
RECORD_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]*")
SQL_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
RESERVED_RECORD_NAMES = frozenset({"SpecModel"})
REASON_CODE_ROLES = frozenset(
    {
        "contract_validation",
        "scope_violation",
        "idempotency_replay",
        "append_only_violation",
        "caller_refused",
        "transition_invalid",
        "not_found",
        "forbidden_tool",
        "timeout",
        "budget_exceeded",
        "policy_block",
        "forbidden_domain",
        "provider_error",
    }
)


@dataclass(frozen=True, slots=True)
class _Companion:
    syntax: CompanionSyntax
    engine_id: str | None
    sections: tuple[CompanionSection, ...]


def resolve_program(parsed: list[tuple[SpecFile, SpecSyntax]], diagnostics: Diagnostics) -> Program:
    companions = [
        _companion(syntax, diagnostics)
        for _, syntax in parsed
        if isinstance(syntax, CompanionSyntax)
    ]

    def sections(kind: str) -> list[tuple[_Companion, CompanionSection]]:
        return [(c, s) for c in companions for s in c.sections if s.kind == kind]

    dictionary = build_dictionary(
        [
            s
            for c in companions
            for s in c.sections
            if s.kind in SECTIONS_BY_KIND["FIELD_DICTIONARY"]
        ],
        diagnostics,
    )
    caller_classes, policies = _callers(sections, diagnostics)

    record_entries: dict[str, tuple[_Companion, Entry]] = {}
    for companion, section in sections("records"):
        for entry in section.entries:
            name = entry.name.text
            if not RECORD_NAME.fullmatch(name) or name in RESERVED_RECORD_NAMES:
                diagnostics.report(
                    "ECM060",
                    entry.name.span,
                    f"record name {name!r} must be PascalCase letters and digits"
                    + (
                        " and not a name the generated code uses"
                        if RECORD_NAME.fullmatch(name)
                        else ""
                    ),
                )
                continue
            bad_variants = [v for v in entry.children if not VARIANT_NAME.fullmatch(v.name.text)]
            for variant in bad_variants:
                diagnostics.report(
                    "ECM060",
                    variant.name.span,
                    f"variant name {variant.name.text!r} must be snake_case",
                )
            first_variant: dict[str, Entry] = {}
            for variant in entry.children:
                earlier = first_variant.setdefault(variant.name.text, variant)
                if earlier is not variant:
                    diagnostics.report(
                        "ECM060",
                        variant.name.span,
                        f"{name}: variant {variant.name.text!r} is defined twice",
                        f"first at {earlier.name.span}",
                    )
                    bad_variants.append(variant)
            if bad_variants:
                entry = dataclasses.replace(
                    entry, children=tuple(v for v in entry.children if v not in bad_variants)
                )
            if entry.name.text in record_entries:
                first = record_entries[entry.name.text][1].name.span
                diagnostics.report(
                    "ECM052",
                    entry.name.span,
                    f"record {entry.name.text!r} is defined twice",
                    f"first at {first}",
                )
                continue
            record_entries[entry.name.text] = (companion, entry)
    resolver = TypeResolver(
        dictionary,
        {
            name: frozenset(v.name.text for v in entry.children)
            for name, (_, entry) in record_entries.items()
        },
        diagnostics,
    )

    tables = _tables(sections("tables"), resolver, diagnostics)
    table_map = {t.name: t for t in tables}
    records = [
        _record(companion.engine_id, entry, resolver, table_map, diagnostics)
        for companion, entry in record_entries.values()
    ]
    record_map = {r.name: r for r in records}
    engines = [
        resolve_engine(syntax, spec.digest, resolver, policies, record_map, diagnostics)
        for spec, syntax in parsed
        if isinstance(syntax, EngineSyntax)
    ]

    engine_map = {e.engine_id: e for e in engines if e.engine_id}
    wiring_codes = _wiring_reason_codes(sections("reason_codes"), diagnostics)
    declared_codes = {rc.code for e in engines for rc in e.reason_codes} | {
        rc.code for _, rc in wiring_codes
    }
    for companion in companions:
        if companion.engine_id is not None and companion.engine_id not in engine_map:
            diagnostics.report(
                "ECM055",
                companion.syntax.header_span,
                f"wiring for engine {companion.engine_id!r}, which no ECM spec declares",
            )
    lifecycles = [
        _lifecycle(
            companion.engine_id or "", entry, engine_map, table_map, declared_codes, diagnostics
        )
        for companion, section in sections("lifecycles")
        for entry in section.entries
    ]
    event_types = tuple(
        resolve_event_types(
            [(c.engine_id or "", s) for c, s in sections("audit_event_types")],
            engine_map,
            dictionary,
            diagnostics,
        )
    )
    bindings = [
        resolve_binding(
            companion.engine_id or "",
            entry,
            engine_map,
            table_map,
            record_map,
            resolver,
            declared_codes,
            event_types,
            diagnostics,
        )
        for companion, section in sections("capability_bindings")
        for entry in section.entries
    ]
    roles = _reason_code_roles(sections("reason_code_roles"), declared_codes, diagnostics)
    tool_paths = [
        _tool_path(companion.engine_id or "", section, engine_map, declared_codes, diagnostics)
        for companion, section in sections("tool_path")
    ]

    program = Program(
        engines=tuple(engines),
        fields=tuple(dictionary.fields[name] for name in sorted(dictionary.fields)),
        conventions=tuple(dictionary.conventions),
        caller_classes=tuple(caller_classes),
        caller_policies=tuple(policies.values()),
        records=tuple(records),
        tables=tuple(tables),
        lifecycles=tuple(lifecycles),
        bindings=tuple(b for b in bindings if b is not None),
        wiring_reason_codes=tuple(wiring_codes),
        reason_code_roles=tuple(roles),
        tool_paths=tuple(tool_paths),
        audit_event_types=event_types,
        inputs=tuple((spec.path, spec.digest) for spec, _ in parsed),
    )
    run_checks(program, diagnostics)
    return program


# --- companion headers ----------------------------------------------------------------------


def _companion(syntax: CompanionSyntax, diagnostics: Diagnostics) -> _Companion:
    header = keyed(syntax.header, COMPANION_HEADER_KEYS, "spec header", diagnostics)
    kind_bullet = header.get("kind")
    kind = value_text(kind_bullet)
    if kind_bullet is None:
        diagnostics.report(
            "ECM010",
            syntax.header_span,
            "spec header has no 'kind'",
            f"kinds: {', '.join(sorted(SECTIONS_BY_KIND))}",
        )
    elif kind not in SECTIONS_BY_KIND:
        diagnostics.report(
            "ECM061",
            kind_bullet.value.span if kind_bullet.value else kind_bullet.span,
            f"unknown companion kind {kind!r}",
            f"kinds: {', '.join(sorted(SECTIONS_BY_KIND))}",
        )
    engine_id: str | None = None
    if kind == "ENGINE_WIRING":
        engine_bullet = header.get("engine_id")
        if engine_bullet is None or engine_bullet.value is None:
            diagnostics.report(
                "ECM010", syntax.header_span, "wiring spec header has no 'engine_id'"
            )
        elif not ENGINE_ID.fullmatch(engine_bullet.value.text):
            diagnostics.report(
                "ECM011",
                engine_bullet.value.span,
                f"engine_id {engine_bullet.value.text!r} is malformed",
            )
        else:
            engine_id = engine_bullet.value.text
    allowed = SECTIONS_BY_KIND.get(kind, frozenset())
    kept = []
    for section in syntax.sections:
        if section.kind in allowed:
            kept.append(section)
        elif kind in SECTIONS_BY_KIND:
            diagnostics.report(
                "ECM062",
                section.title.span,
                f"{section.title.text!r} does not belong in a {kind} spec; kept as a note",
            )
    return _Companion(syntax, engine_id, tuple(kept))


def _callers(
    sections: Callable[[str], list[tuple[_Companion, CompanionSection]]],
    diagnostics: Diagnostics,
) -> tuple[list[str], dict[str, CallerPolicy]]:
    classes: dict[str, Span] = {}
    for _, section in sections("caller_classes"):
        for bullet in section.bullets:
            name = bullet.key or (bullet.codes[0] if bullet.codes else None)
            if name is None:
                diagnostics.report("ECM018", bullet.span, "expected '`CALLER_CLASS`: description'")
                continue
            if name.text in classes:
                diagnostics.report(
                    "ECM058", name.span, f"caller class {name.text!r} is defined twice"
                )
                continue
            classes[name.text] = name.span
    policies: dict[str, CallerPolicy] = {}
    for _, section in sections("caller_policies"):
        for bullet in section.bullets:
            if bullet.key is None:
                diagnostics.report(
                    "ECM018", bullet.span, "expected '`POLICY`: `CALLER_CLASS`, ...'"
                )
                continue
            if bullet.key.text in policies:
                diagnostics.report(
                    "ECM058", bullet.key.span, f"caller policy {bullet.key.text!r} is defined twice"
                )
                continue
            members = names_in(bullet)
            for member in members:
                if member.text not in classes:
                    diagnostics.report(
                        "ECM058",
                        member.span,
                        f"policy {bullet.key.text} admits unknown caller class {member.text!r}",
                    )
            if not members:
                diagnostics.report(
                    "ECM058", bullet.span, f"policy {bullet.key.text} admits no caller class"
                )
            policies[bullet.key.text] = CallerPolicy(
                bullet.key.text, tuple(m.text for m in members if m.text in classes), bullet.span
            )
    return sorted(classes), policies


# --- tables ---------------------------------------------------------------------------------


def _tables(
    sections: list[tuple[_Companion, CompanionSection]],
    resolver: TypeResolver,
    diagnostics: Diagnostics,
) -> list[Table]:
    tables: dict[str, Table] = {}
    for companion, section in sections:
        for entry in section.entries:
            table = _table(companion.engine_id or "", entry, resolver, diagnostics)
            if table is None:
                continue
            if table.name in tables:
                diagnostics.report(
                    "ECM056",
                    entry.name.span,
                    f"table {table.name!r} is defined twice",
                    f"first at {tables[table.name].span}",
                )
                continue
            tables[table.name] = table
    for table in tables.values():
        _check_table_links(table, tables, diagnostics)
    return list(tables.values())


def _table(
    engine_id: str, entry: Entry, resolver: TypeResolver, diagnostics: Diagnostics
) -> Table | None:
    name = entry.name.text
    if not SQL_NAME.fullmatch(name):
        diagnostics.report(
            "ECM059",
            entry.name.span,
            f"table name {name!r} must be snake_case, at most 63 characters",
        )
        return None
    keys = keyed(entry.keys, TABLE_KEYS, f"table {name}", diagnostics)
    truth = value_text(keys.get("truth_type"))
    if truth not in TRUTH_TYPES:
        diagnostics.report(
            "ECM059",
            entry.name.span,
            f"table {name}: truth_type {truth or '(missing)'!r} is not one of "
            "LEDGER, CURRENT, CACHE",
        )
    columns_bullet = keys.get("columns")
    members = (
        resolver.members(columns_bullet.value) if columns_bullet and columns_bullet.value else None
    )
    if members is None:
        if columns_bullet is None:
            diagnostics.report("ECM059", entry.name.span, f"table {name} has no 'columns'")
        return None
    columns: list[Column] = []
    for member in members:
        if member.type.kind != "scalar" or member.type.scalar is None:
            if member.type.kind != "error":
                diagnostics.report(
                    "ECM059", member.span, f"column {member.name!r} must be a plain field"
                )
            continue
        columns.append(
            Column(
                member.name,
                member.type.scalar,
                member.optional,
                member.type.typed_by or "",
                member.span,
            )
        )
    column_names = {c.name for c in columns}

    def checked(names: list[Text], what: str) -> tuple[str, ...]:
        for col in names:
            if col.text not in column_names:
                diagnostics.report(
                    "ECM054", col.span, f"table {name}: {what} names unknown column {col.text!r}"
                )
        return tuple(col.text for col in names)

    primary_key = checked(bullet_names(keys.get("primary_key"), diagnostics), "primary_key")
    if not primary_key:
        diagnostics.report("ECM059", entry.name.span, f"table {name} has no 'primary_key'")
    identity = None
    identity_names = checked(bullet_names(keys.get("identity"), diagnostics), "identity")
    if identity_names:
        identity = identity_names[0]
        column = next((c for c in columns if c.name == identity), None)
        if column is not None and (column.type.base != "int" or identity not in primary_key):
            diagnostics.report(
                "ECM059",
                keys["identity"].span,
                f"table {name}: identity column {identity!r} must be an int primary key",
            )

    def named_keys(key: str) -> tuple[Key, ...]:
        bullet = keys.get(key)
        if bullet is None:
            return ()
        found = []
        for child in bullet.children:
            if child.key is None or child.value is None:
                diagnostics.report(
                    "ECM018", child.span, f"table {name}: expected '`name`: `(columns)`'"
                )
                continue
            if not SQL_NAME.fullmatch(child.key.text):
                diagnostics.report(
                    "ECM059",
                    child.key.span,
                    f"table {name}: key name {child.key.text!r} must be snake_case, "
                    "at most 63 characters",
                )
                continue
            cols = checked(name_list(child.value, diagnostics), key)
            found.append(Key(child.key.text, cols, child.span))
        return tuple(found)

    foreign_keys = []
    fk_bullet = keys.get("foreign_keys")
    for child in fk_bullet.children if fk_bullet else ():
        target = value_text(child)
        table_name, dot, target_column = target.partition(".")
        if child.key is None or not dot:
            diagnostics.report(
                "ECM018", child.span, f"table {name}: expected '`column`: `table.column`'"
            )
            continue
        checked([child.key], "foreign_keys")
        foreign_keys.append(ForeignKey(child.key.text, table_name, target_column, child.span))

    ttl = checked(bullet_names(keys.get("ttl_column"), diagnostics), "ttl_column")
    tenant = checked(bullet_names(keys.get("tenant_column"), diagnostics), "tenant_column")
    projection = value_text(keys.get("projection_of")) or None
    if truth != "CURRENT" and projection is not None:
        diagnostics.report(
            "ECM059",
            keys["projection_of"].span,
            f"table {name}: only a CURRENT table is a projection of a ledger",
        )
    scope = _scope(keys.get("scope"), bool(tenant), name, diagnostics)
    if truth == "CACHE" and not ttl:
        diagnostics.report("ECM059", entry.name.span, f"CACHE table {name} needs a 'ttl_column'")
    return Table(
        name=name,
        engine_id=engine_id,
        truth_type=truth,
        columns=tuple(columns),
        primary_key=primary_key,
        identity=identity,
        unique_keys=named_keys("unique_keys"),
        idempotency_keys=named_keys("idempotency_keys"),
        indexes=named_keys("indexes"),
        foreign_keys=tuple(foreign_keys),
        projection_of=projection,
        ttl_column=ttl[0] if ttl else None,
        tenant_column=tenant[0] if tenant else None,
        scope=scope,
        project=_projection(keys.get("project"), name, column_names, diagnostics),
        description=value_text(keys.get("description")),
        span=entry.name.span,
    )


def _scope(bullet: Bullet | None, has_tenant: bool, table: str, diagnostics: Diagnostics) -> str:
    """TENANT when the table names its tenant column, GLOBAL when it says so, else ''."""
    declared = value_text(bullet)
    if bullet is None:
        return "TENANT" if has_tenant else ""
    if declared not in TABLE_SCOPES:
        diagnostics.report(
            "ECM059",
            bullet.value.span if bullet.value else bullet.span,
            f"table {table}: scope {declared!r} is not one of {', '.join(TABLE_SCOPES)}",
        )
        return "TENANT" if has_tenant else ""
    if (declared == "TENANT") != has_tenant:
        diagnostics.report(
            "ECM059",
            bullet.span,
            f"table {table}: scope {declared} "
            + (
                "needs a 'tenant_column'"
                if declared == "TENANT"
                else "contradicts its 'tenant_column'"
            ),
        )
    return declared


def _projection(
    bullet: Bullet | None, table: str, columns: set[str], diagnostics: Diagnostics
) -> tuple[tuple[str, str], ...]:
    """`(current_column=ledger_column, ...)`: how a ledger row lands in a CURRENT table."""
    pairs = []
    for column, source, span in pin_list(bullet, diagnostics, "current_column=ledger_column"):
        if column not in columns:
            diagnostics.report(
                "ECM054", span, f"table {table}: project names unknown column {column!r}"
            )
        else:
            pairs.append((column, source))
    return tuple(pairs)


def _check_table_links(table: Table, tables: Mapping[str, Table], diagnostics: Diagnostics) -> None:
    for fk in table.foreign_keys:
        target = tables.get(fk.table)
        if target is None or fk.target_column not in {c.name for c in target.columns}:
            diagnostics.report(
                "ECM054",
                fk.span,
                f"table {table.name}: foreign key target {fk.table}.{fk.target_column} "
                "does not exist",
            )
    if table.projection_of is not None:
        ledger = tables.get(table.projection_of)
        ledger_columns = {c.name for c in ledger.columns} if ledger else set()
        for _, source in table.project:
            if ledger is not None and source not in ledger_columns:
                diagnostics.report(
                    "ECM054",
                    table.span,
                    f"table {table.name}: project takes {source!r}, which {ledger.name} lacks",
                )
        if ledger is None or ledger.truth_type != "LEDGER":
            diagnostics.report(
                "ECM059",
                table.span,
                f"table {table.name}: projection_of {table.projection_of!r} is not a LEDGER table",
            )


# --- records --------------------------------------------------------------------------------


def _record(
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
            "ECM060",
            entry.name.span,
            f"record {name} needs exactly one of 'fields', 'row_of', 'alias_of'"
            + (f"; has {', '.join(given)}" if given else ""),
        )
    members: tuple[Member, ...] = ()
    row_of = value_text(keys.get("row_of")) or None
    alias_of: TypeRef | None = None
    if "fields" in keys and keys["fields"].value is not None:
        members = resolver.members(keys["fields"].value) or ()
    elif row_of is not None:
        table = tables.get(row_of)
        if table is None:
            bullet = keys["row_of"]
            diagnostics.report(
                "ECM060",
                bullet.value.span if bullet.value else bullet.span,
                f"record {name}: row_of names unknown table {row_of!r}",
            )
        else:
            members = tuple(
                Member(
                    c.name,
                    TypeRef("scalar", c.span, name=c.name, scalar=c.type, typed_by=c.typed_by),
                    c.nullable,
                    (),
                    c.span,
                )
                for c in table.columns
            )
    elif "alias_of" in keys and keys["alias_of"].value is not None:
        alias_of = resolver.schema(keys["alias_of"].value).type

    variants = []
    for child in entry.children:
        vkeys = keyed(child.keys, VARIANT_KEYS, f"variant {name}::{child.name.text}", diagnostics)
        extra: tuple[Member, ...] = ()
        if "fields" in vkeys and vkeys["fields"].value is not None:
            extra = resolver.members(vkeys["fields"].value) or ()
        base_names = {m.name: m for m in members}
        for member in extra:
            if member.name in base_names:
                diagnostics.report(
                    "ECM026",
                    member.span,
                    f"variant field {member.name!r} is already a field of {name}",
                )
        combined = members + tuple(m for m in extra if m.name not in base_names)
        attributes = tuple(
            (k, value_text(b)) for k, b in vkeys.items() if k not in ("fields", "description")
        )
        variants.append(Variant(child.name.text, combined, attributes, child.name.span))
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


# --- wiring that refers to engines ----------------------------------------------------------


def _lifecycle(
    engine_id: str,
    entry: Entry,
    engines: Mapping[str, Engine],
    tables: Mapping[str, Table],
    declared_codes: set[str],
    diagnostics: Diagnostics,
) -> Lifecycle:
    name = entry.name.text
    keys = keyed(entry.keys, LIFECYCLE_KEYS, f"lifecycle {name}", diagnostics)
    states = bullet_names(keys.get("states"), diagnostics)
    state_names = {s.text for s in states}
    if not states:
        diagnostics.report("ECM057", entry.name.span, f"lifecycle {name} declares no 'states'")
    final = bullet_names(keys.get("final_states"), diagnostics)
    _known_states(final, state_names, name, diagnostics)
    final_names = {s.text for s in final}
    for key in ("ledger", "current"):
        table = value_text(keys.get(key))
        if table and table not in tables:
            bullet = keys[key]
            diagnostics.report(
                "ECM054",
                bullet.value.span if bullet.value else bullet.span,
                f"lifecycle {name}: {key} table {table!r} is not defined",
            )
    ledger = tables.get(value_text(keys.get("ledger")))
    columns: dict[str, str] = {}
    for key in ("state_column", "action_column"):
        column_bullet = keys.get(key)
        column = value_text(column_bullet)
        if column_bullet is None or not column:
            diagnostics.report("ECM057", entry.name.span, f"lifecycle {name} needs '{key}'")
        elif ledger is not None and column not in {c.name for c in ledger.columns}:
            diagnostics.report(
                "ECM054",
                column_bullet.value.span if column_bullet.value else column_bullet.span,
                f"lifecycle {name}: {key} {column!r} is not a column of {ledger.name}",
            )
        columns[key] = column
    engine = engines.get(engine_id)
    capability_ids = {c.id for c in engine.capabilities} if engine else set()
    transitions = []
    seen: set[str] = set()
    for action in entry.children:
        akeys = keyed(action.keys, ACTION_KEYS, f"action {action.name.text}", diagnostics)
        if action.name.text in seen:
            diagnostics.report(
                "ECM057", action.name.span, f"action {action.name.text} is declared twice"
            )
            continue
        seen.add(action.name.text)
        sources = bullet_names(akeys.get("from"), diagnostics)
        _known_states(sources, state_names, name, diagnostics)
        for source in sources:
            if source.text in final_names:
                diagnostics.report(
                    "ECM057",
                    source.span,
                    f"action {action.name.text} leaves final state {source.text}",
                )
        targets = bullet_names(akeys.get("to"), diagnostics)
        _known_states(targets, state_names, name, diagnostics)
        if len(targets) != 1:
            diagnostics.report(
                "ECM057",
                action.name.span,
                f"action {action.name.text} needs exactly one 'to' state",
            )
        capability = value_text(akeys.get("capability")) or None
        if capability is not None and capability not in capability_ids:
            bullet = akeys["capability"]
            diagnostics.report(
                "ECM063",
                bullet.value.span if bullet.value else bullet.span,
                f"action {action.name.text}: capability {capability} is not declared by "
                f"{engine_id}",
            )
        reason = value_text(akeys.get("reason_code")) or None
        if reason is not None:
            _referenced_code(akeys["reason_code"], declared_codes, diagnostics)
        transitions.append(
            Transition(
                action.name.text,
                capability,
                tuple(s.text for s in sources),
                targets[0].text if targets else "",
                reason,
                action.name.span,
            )
        )
    return Lifecycle(
        name,
        engine_id,
        tuple(s.text for s in states),
        tuple(sorted(final_names)),
        value_text(keys.get("ledger")) or None,
        value_text(keys.get("current")) or None,
        columns["state_column"],
        columns["action_column"],
        tuple(transitions),
        entry.name.span,
    )


def _known_states(
    names: Iterable[Text], states: set[str], lifecycle: str, diagnostics: Diagnostics
) -> None:
    for state in names:
        if state.text not in states:
            diagnostics.report(
                "ECM057", state.span, f"lifecycle {lifecycle} has no state {state.text!r}"
            )


def _referenced_code(bullet: Bullet, declared: set[str], diagnostics: Diagnostics) -> None:
    assert bullet.value is not None
    code = bullet.value.text
    if not REASON_CODE.fullmatch(code):
        diagnostics.report(
            "ECM040", bullet.value.span, f"reason code {code!r} is not UPPER_SNAKE_CASE"
        )
    elif code not in declared:
        diagnostics.report(
            "ECM036",
            bullet.value.span,
            f"reason code {code} is referenced but no ECM spec declares it",
        )


TOOL_PATH_KEYS = frozenset(
    {"cache_read", "cache_write", "ok_commit", "fail_commit", "cache_ttl_ms", "reason_code"}
)


def _tool_path(
    engine_id: str,
    section: CompanionSection,
    engines: Mapping[str, Engine],
    declared_codes: set[str],
    diagnostics: Diagnostics,
) -> ToolPath:
    """The capabilities a tool query runs through: cache read and write, ok and fail rows."""
    keys = keyed(section.bullets, TOOL_PATH_KEYS, "tool path", diagnostics)
    known = {c.id for e in engines.values() for c in e.capabilities}
    chosen: dict[str, str] = {}
    for key in ("cache_read", "cache_write", "ok_commit", "fail_commit"):
        value = value_text(keys.get(key))
        if not value:
            diagnostics.report("ECM010", section.title.span, f"tool path needs '{key}'")
        elif value not in known:
            bullet = keys[key]
            diagnostics.report(
                "ECM063",
                bullet.value.span if bullet.value else bullet.span,
                f"tool path {key} names {value}, which no ECM spec declares",
            )
        chosen[key] = value
    ttl = value_text(keys.get("cache_ttl_ms"))
    if not ttl.isdigit():
        diagnostics.report(
            "ECM011", section.title.span, "tool path needs 'cache_ttl_ms' as a whole number"
        )
    reason = value_text(keys.get("reason_code"))
    if reason and reason not in declared_codes:
        bullet = keys["reason_code"]
        diagnostics.report(
            "ECM036",
            bullet.value.span if bullet.value else bullet.span,
            f"reason code {reason} is referenced but no spec declares it",
        )
    return ToolPath(
        engine_id,
        chosen["cache_read"],
        chosen["cache_write"],
        chosen["ok_commit"],
        chosen["fail_commit"],
        int(ttl) if ttl.isdigit() else 0,
        reason or None,
        section.title.span,
    )


def _wiring_reason_codes(
    sections: list[tuple[_Companion, CompanionSection]], diagnostics: Diagnostics
) -> list[tuple[str, ReasonCode]]:
    """Reason codes a wiring spec adds for its engine: `` `CODE`: what it means ``."""
    codes = []
    for companion, section in sections:
        for bullet in section.bullets:
            if bullet.key is None:
                diagnostics.report("ECM018", bullet.span, "expected '`REASON_CODE`: meaning'")
                continue
            if not REASON_CODE.fullmatch(bullet.key.text):
                diagnostics.report(
                    "ECM040",
                    bullet.key.span,
                    f"reason code {bullet.key.text!r} is not UPPER_SNAKE_CASE",
                )
                continue
            description = bullet.text.text.partition(":")[2].strip()
            codes.append(
                (
                    companion.engine_id or "",
                    ReasonCode(bullet.key.text, description, bullet.key.span),
                )
            )
    return codes


def _reason_code_roles(
    sections: list[tuple[_Companion, CompanionSection]],
    declared: set[str],
    diagnostics: Diagnostics,
) -> list[ReasonCodeRole]:
    roles: dict[tuple[str, str], ReasonCodeRole] = {}
    for companion, section in sections:
        for bullet in section.bullets:
            if bullet.key is None or bullet.value is None:
                diagnostics.report("ECM018", bullet.span, "expected '`role`: `REASON_CODE`'")
                continue

            if bullet.key.text not in REASON_CODE_ROLES:
                diagnostics.report(
                    "ECM017",
                    bullet.key.span,
                    f"unknown reason-code role {bullet.key.text!r}",
                    f"roles: {', '.join(sorted(REASON_CODE_ROLES))}",
                )
                continue
            _referenced_code(bullet, declared, diagnostics)
            seen = roles.get((companion.engine_id or "", bullet.key.text))
            if seen is not None:
                diagnostics.report(
                    "ECM012",
                    bullet.key.span,
                    f"reason-code role {bullet.key.text!r} is given twice",
                    f"first at {seen.span}",
                )
                continue
            role = ReasonCodeRole(
                companion.engine_id or "", bullet.key.text, bullet.value.text, bullet.span
            )
            roles[(role.engine_id, role.role)] = role
    return list(roles.values())
