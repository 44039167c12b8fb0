"""Records drafted for the named types ECM schemas use and no spec defines.

In order: an `...Id` name is an alias of the field of the same words (`SessionId` ->
`session_id`); a name whose words are those of an imported SQL table is a row of it
(`WakeEnrollmentSessionRecord` -> `wake_enrollment_sessions`); a name a read by the key of an
owned table returns is a row of that table; a name the ECM text lists
fields for (`` `LinkRecord` `` next to `` `(link_id, status, ...)` ``) has those fields; anything
else is an opaque JSON object, until a person says what it holds. Each entry says which.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ecmc.frontend.type_grammar import TupleType, parse_type
from ecmc.ir import Program
from ecmc.resolve.dictionary import INFERRED
from ecmc.span import Span
from ecmc.typeref import ErrorRef, walk

OPAQUE_FIELD = "opaque_object"
"""The dictionary field (`object`) an opaque record aliases."""
OPAQUE_RECORD = "OpaqueObject"
"""The record a restated schema uses where nothing says what the value holds."""

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")
_NOUN_SUFFIXES = ("_record", "_row", "_entry", "_result", "_event")
_TUPLE_SPAN = re.compile(r"`(\([^`]*\))`")
NOWHERE = Span("", 1, 1, 1, 1)
"""Where a drafted expression is parsed to test it: it is nowhere in a spec yet."""


@dataclass(frozen=True, slots=True)
class RecordDraft:
    name: str
    entry: str
    rule: str
    """`field`, `sql`, `ecm` or `opaque`."""
    table: str | None = None
    """The imported table it is a row of, which the wiring must then define."""


@dataclass(frozen=True, slots=True)
class UndefinedType:
    engine_id: str
    """The engine of its first use."""
    variants: list[str]
    """The variants (`Type::variant`) the schemas name."""


def undefined_types(program: Program) -> dict[str, UndefinedType]:
    """Named types the capabilities use that nothing defines, in order of first use."""
    found: dict[str, UndefinedType] = {}
    for engine in program.engines:
        for cap in engine.capabilities:
            for schema in (cap.input, cap.output):
                for ref in walk(schema.type) if schema is not None else ():
                    if isinstance(ref, ErrorRef) and ref.name and ref.name[:1].isupper():
                        use = found.setdefault(ref.name, UndefinedType(engine.engine_id, []))
                        if ref.variant and ref.variant not in use.variants:
                            use.variants.append(ref.variant)
    return found


def snake(name: str) -> str:
    return "_".join(w.lower() for w in _WORD.findall(name))


def table_candidates(name: str) -> list[str]:
    """Table names whose words are the type's, most literal first."""
    words = snake(name)
    stems = [words] + [words.removesuffix(s) for s in _NOUN_SUFFIXES if words.endswith(s)]
    found: list[str] = []
    for stem in stems:
        found += [stem, stem + "s", stem + "_ledger", stem + "_current", stem + "_events"]
    for stem in stems:  # one word plural, as in `ArtifactLedger` -> `artifacts_ledger`
        parts = stem.split("_")
        found += ["_".join([*parts[:i], p + "s", *parts[i + 1 :]]) for i, p in enumerate(parts)]
    return list(dict.fromkeys(found))


def draft_record(
    name: str,
    ecm_text: str,
    tables: Iterable[str],
    variants: Iterable[str] = (),
    read_from: str | None = None,
    inputs: Mapping[str, str] | None = None,
    ledger: str | None = None,
) -> RecordDraft:
    """The record, with a variant (of its fields alone) for each variant the schemas name.
    `read_from`: the owned table a read by its key returns the type from; `inputs`: table ->
    the fields a writer hands over for one of its rows; `ledger`: the one ledger the engine
    of its first use owns."""
    draft = _input_record(name, inputs or {}, ledger) or _record(
        name, ecm_text, set(tables), read_from, ledger
    )
    why = _why("a schema naming it; the variant's own fields are yours to add")
    children = "".join(f"\n#### `{variant}`\n{why}\n" for variant in variants)
    return dataclasses.replace(draft, entry=draft.entry + children)


def _input_record(name: str, inputs: Mapping[str, str], ledger: str | None) -> RecordDraft | None:
    """`XInput`, where `X` is a row of a table: the fields a writer hands over for one row
    (its columns, less those the database or the clock fills)."""
    if not name.endswith("Input") or name == "Input":
        return None
    stem = name.removesuffix("Input")
    table = next((t for t in table_candidates(stem) if t in inputs), None)
    if table is None and ledger in inputs and _ledger_words(stem):
        table = ledger
    if table is None:
        return None
    why = _why(f"the columns of `{table}`, less what the database and the clock fill")
    return RecordDraft(name, f"### `{name}`\n- `fields`: `{inputs[table]}`\n" + why, "sql")


def _ledger_words(name: str) -> bool:
    return bool({"ledger", "event"} & set(snake(name).split("_")))


def _record(
    name: str, ecm_text: str, known: set[str], read_from: str | None, ledger: str | None = None
) -> RecordDraft:
    words = snake(name)
    if name.endswith("Id") and words.endswith("_id"):
        return _alias(name, words, "field", f"the field of the same words, `{words}`")
    table = next((t for t in table_candidates(name) if t in known), None)
    if table is None and ledger is not None and _ledger_words(name):
        table = ledger
    if table is not None:
        entry = f"### `{name}`\n- `row_of`: `{table}`\n" + _why(f"the table `{table}`")
        return RecordDraft(name, entry, "sql", table)
    if read_from is not None:
        why = f"a read by the key of `{read_from}` returning it"
        return RecordDraft(name, f"### `{name}`\n- `row_of`: `{read_from}`\n" + _why(why), "read")
    listed = ecm_fields(name, ecm_text)
    if listed is not None:
        text, line = listed
        entry = f"### `{name}`\n- `fields`: `{text}`\n" + _why(f"the ECM text, line {line}")
        return RecordDraft(name, entry, "ecm")
    return _alias(name, OPAQUE_FIELD, "opaque", "nothing: an opaque JSON object; say what it holds")


def opaque_record() -> RecordDraft:
    why = "nothing: a schema the ECM text states in words; say what it holds"
    return _alias(OPAQUE_RECORD, OPAQUE_FIELD, "opaque", why)


def _alias(name: str, target: str, rule: str, why: str) -> RecordDraft:
    return RecordDraft(name, f"### `{name}`\n- `alias_of`: `{target}`\n" + _why(why), rule)


def _why(source: str) -> str:
    return f"- `description`: {INFERRED} from {source}."


def ecm_fields(name: str, text: str) -> tuple[str, int] | None:
    """The first backticked field tuple on a line of the ECM text that names the type, if it
    reads as a tuple of fields."""
    for number, line in enumerate(text.splitlines(), start=1):
        if f"`{name}`" not in line or "_schema`" in line:
            continue
        for candidate in _TUPLE_SPAN.findall(line):
            parsed = parse_type(candidate, NOWHERE)
            if isinstance(parsed, TupleType) and parsed.members:
                return candidate, number
    return None
