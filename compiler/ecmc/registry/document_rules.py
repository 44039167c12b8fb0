"""The rules of a spec file as a document: bytes that cannot be a spec, its structure and its
type expressions (ECM001-ECM027)."""

from __future__ import annotations

from ecmc.codes import Code
from ecmc.registry.rule import Rule, Severity

_E, _W = Severity.ERROR, Severity.WARNING

RULES: tuple[Rule, ...] = (
    Rule(
        Code.NOT_UTF8,
        _E,
        summary="the file is not valid UTF-8 text",
        rule="A spec is UTF-8 text.",
        example="a file saved as Latin-1: `- purpose: Caf\\xe9`",
        fix="Save the file as UTF-8.",
    ),
    Rule(
        Code.EMPTY_FILE,
        _E,
        summary="the file is empty or holds only whitespace",
        rule="A spec holds something.",
        example="an empty `specs/ecm/NEW.md`",
        fix="Write the spec, or delete the file.",
    ),
    Rule(
        Code.FILE_TOO_LARGE,
        _E,
        summary="the file is larger than the spec size limit",
        rule=("Specs are at most 1 MiB: larger files are not specs, and parsing them wastes time."),
        example="a data dump saved as `specs/ecm/dump.md`",
        fix="Move the file out of the specs directory, or split the spec.",
    ),
    Rule(
        Code.BINARY_FILE,
        _E,
        summary="the file holds binary data (NUL or control bytes)",
        rule=("A spec is text: no NUL or other control bytes but tab, newline, form feed and CR."),
        example="a binary file renamed to `.md`",
        fix="Move the file out of the specs directory.",
    ),
    Rule(
        Code.NOT_A_SPEC,
        _E,
        summary="the file is neither an ECM spec nor a companion spec",
        rule=(
            "Every spec is an ECM spec (an `Engine Header` section) or a "
            "companion spec (a `Spec Header` section), never both and never "
            "neither."
        ),
        example="# Notes\n- nothing that names an engine",
        fix=(
            "Add `## Engine Header` with `- `engine_id`: `PH1.X``, or a `## "
            "Spec Header` with its `kind`; keep other Markdown out of the specs "
            "directory."
        ),
    ),
    Rule(
        Code.MISSING_KEY,
        _E,
        summary="a required header key is missing",
        rule=(
            "A header, binding or entry has every key it needs: an ECM header "
            "its `engine_id`, a companion header its `kind` (and a wiring spec "
            "its `engine_id`), an audited write its `event_type` and a reason "
            "code."
        ),
        example="## Spec Header\n- `purpose`: fields",
        fix="Add the missing key the message names.",
    ),
    Rule(
        Code.MALFORMED_VALUE,
        _E,
        summary="a header or capability value is malformed",
        rule=(
            "Header values follow their form: `engine_id` like `PH1.D`, "
            "`version` like `v1`, `status` one of ACTIVE, DRAFT, DEPRECATED, "
            "RETIRED."
        ),
        example="- `version`: `1.0`",
        fix="Write the value in its form: `- `version`: `v1``.",
    ),
    Rule(
        Code.DUPLICATE_KEY,
        _E,
        summary="a key is given twice in the same block",
        rule=("A key is given once per block (and a reason-code role once per engine)."),
        example="- `name`: Commit\n- `name`: Commit row",
        fix="Keep one of the two.",
    ),
    Rule(
        Code.MISSING_RECOMMENDED_KEY,
        _W,
        summary="a recommended header key is missing",
        rule=("An engine header should say its purpose, data_owned, version and status."),
        example="## Engine Header\n- `engine_id`: `PH1.X`",
        fix="Add the keys the warning names.",
    ),
    Rule(
        Code.MISSING_SECTION,
        _E,
        summary="a required section is missing",
        rule=("An ECM spec lists its capabilities under a `Capability List` section."),
        example="## Engine Header\n- `engine_id`: `PH1.X`\n(and no Capability List)",
        fix=("Add `## Capability List` with one `### `CAPABILITY_ID`` heading per capability."),
    ),
    Rule(
        Code.CAPABILITY_KEY_MISSING,
        _E,
        summary="a capability lacks a required key",
        rule=(
            "Every capability has an input_schema, an output_schema, "
            "side_effects and (its own or its engine's) allowed_callers."
        ),
        example="### `PH1X_READ`\n- `input_schema`: `none`",
        fix="Add the keys the message names.",
    ),
    Rule(
        Code.MALFORMED_CAPABILITY_ID,
        _E,
        summary="a capability id is malformed",
        rule="Capability ids are UPPER_SNAKE_CASE with at least two words.",
        example="### `readRows`",
        fix="Rename it, e.g. `PH1X_READ_ROWS`.",
    ),
    Rule(
        Code.UNKNOWN_KEY,
        _W,
        summary="a key is outside its block's vocabulary (kept as an extra)",
        rule=("Keys outside a block's vocabulary are kept as extras but read by nothing."),
        example="- `colour`: red",
        fix=("Check the spelling against the known keys the note lists, or drop the key."),
    ),
    Rule(
        Code.UNREADABLE_LINE,
        _W,
        summary="a line in a structured section could not be interpreted",
        rule=(
            "Structured sections hold `key: value` bullets; a line there that "
            "is neither is read by nothing."
        ),
        example="## Fields\n- a line that defines nothing",
        fix=("Write it as `- `name`: `type` — description`, or move prose out of the section."),
    ),
    Rule(
        Code.UNNAMED_CAPABILITY,
        _W,
        summary="a capability has no name",
        rule="A capability should have a human name.",
        example="### `PH1X_READ` (with no `name`)",
        fix="Add `- `name`: Read rows`.",
    ),
    Rule(
        Code.TYPE_SYNTAX,
        _E,
        summary="a type expression does not follow the type grammar",
        rule=(
            "Type expressions follow the grammar documented in "
            "compiler/ecmc/frontend/type_grammar.py."
        ),
        example="- `input_schema`: `(tenant_id,, turn_id)`",
        fix="Fix the expression at the caret.",
    ),
    Rule(
        Code.UNTYPED_FIELD,
        _E,
        summary="a field name is not in the field dictionary or any convention",
        rule=(
            "Every field a schema names is typed by the field dictionary: an "
            "explicit entry or a naming convention."
        ),
        example="- `input_schema`: `(now, tenant)`",
        fix=(
            "Use the dictionary's name (the note suggests one), or add the "
            "field to specs/common/fields.md."
        ),
    ),
    Rule(
        Code.UNDEFINED_TYPE,
        _E,
        summary="a named type is not defined by any companion spec",
        rule=("Every named type (PascalCase) is a record some wiring spec defines."),
        example="- `output_schema`: `Option<SessionRecord>`",
        fix=(
            "Define the record under `## Records` in the engine's wiring "
            "(`fields`, `row_of` or `alias_of`)."
        ),
    ),
    Rule(
        Code.UNDEFINED_VARIANT,
        _E,
        summary="a variant is not defined for its named type",
        rule="A variant `Record::variant` is one the record defines.",
        example="- `input_schema`: `Ph1CapreqRequest::approve_v9`",
        fix=("Use a variant the note lists, or add it under the record as `#### `approve_v9``."),
    ),
    Rule(
        Code.BAD_GENERIC,
        _E,
        summary="a generic type is unknown or has the wrong number of arguments",
        rule=("Generics are Result<T, E>, Option<T>, Vec<T> and Map<K, V>, with their arguments."),
        example="- `output_schema`: `Option<A, B>`",
        fix="Give the generic its arguments, e.g. `Option<A>`.",
    ),
    Rule(
        Code.UNTYPED_PROSE,
        _W,
        summary="prose in a schema could not be typed",
        rule=("Prose inside a schema types nothing: only backticked fields are typed."),
        example="- `input_schema`:\n  - provider response envelope from the adapter",
        fix="Name the fields in backticks: `` - `provider_response_ref` ``.",
    ),
    Rule(
        Code.DUPLICATE_FIELD,
        _E,
        summary="a field appears twice in one record or tuple",
        rule="A field appears once in a record or tuple.",
        example="- `input_schema`: `(tenant_id, tenant_id)`",
        fix="Remove the repeat.",
    ),
    Rule(
        Code.MISPLACED_TYPE,
        _E,
        summary="a type is used where the grammar position does not allow it",
        rule=(
            "A type stands only where its position allows: fields in tuples, "
            "records in inputs, `x=VALUE` only in tuples, a record as a "
            "Result's error."
        ),
        example="- `input_schema`: `Vec<tenant_id>`",
        fix="Use a field, a tuple of fields or a record as the input.",
    ),
)
