"""The explanation of every diagnostic code: its rule, a failing example and the fix
(`ecmc lint --explain CODE`). Data only; kept apart from the code registry so that the
registry stays a table a reader takes in at a glance (a test holds the two together)."""

from __future__ import annotations

from dataclasses import dataclass

from ecm_contract import Role


@dataclass(frozen=True, slots=True)
class Explanation:
    rule: str
    example: str
    fix: str


def _x(rule: str, example: str, fix: str) -> Explanation:
    return Explanation(rule, example, fix)


EXPLANATIONS: dict[str, Explanation] = {
    "ECM001": _x(
        "A spec is UTF-8 text.",
        "a file saved as Latin-1: `- purpose: Caf\\xe9`",
        "Save the file as UTF-8.",
    ),
    "ECM002": _x(
        "A spec holds something.",
        "an empty `specs/ecm/NEW.md`",
        "Write the spec, or delete the file.",
    ),
    "ECM003": _x(
        "Specs are at most 1 MiB: larger files are not specs, and parsing them wastes time.",
        "a data dump saved as `specs/ecm/dump.md`",
        "Move the file out of the specs directory, or split the spec.",
    ),
    "ECM004": _x(
        "A spec is text: no NUL or other control bytes but tab, newline, form feed and CR.",
        "a binary file renamed to `.md`",
        "Move the file out of the specs directory.",
    ),
    "ECM005": _x(
        "Every spec is an ECM spec (an `Engine Header` section) or a companion spec (a `Spec "
        "Header` section), never both and never neither.",
        "# Notes\n- nothing that names an engine",
        "Add `## Engine Header` with `- `engine_id`: `PH1.X``, or a `## Spec Header` with its "
        "`kind`; keep other Markdown out of the specs directory.",
    ),
    "ECM010": _x(
        "A header, binding or entry has every key it needs: an ECM header its `engine_id`, a "
        "companion header its `kind` (and a wiring spec its `engine_id`), an audited write "
        "its `event_type` and a reason code.",
        "## Spec Header\n- `purpose`: fields",
        "Add the missing key the message names.",
    ),
    "ECM011": _x(
        "Header values follow their form: `engine_id` like `PH1.D`, `version` like `v1`, "
        "`status` one of ACTIVE, DRAFT, DEPRECATED, RETIRED.",
        "- `version`: `1.0`",
        "Write the value in its form: `- `version`: `v1``.",
    ),
    "ECM012": _x(
        "A key is given once per block (and a reason-code role once per engine).",
        "- `name`: Commit\n- `name`: Commit row",
        "Keep one of the two.",
    ),
    "ECM013": _x(
        "An engine header should say its purpose, data_owned, version and status.",
        "## Engine Header\n- `engine_id`: `PH1.X`",
        "Add the keys the warning names.",
    ),
    "ECM014": _x(
        "An ECM spec lists its capabilities under a `Capability List` section.",
        "## Engine Header\n- `engine_id`: `PH1.X`\n(and no Capability List)",
        "Add `## Capability List` with one `### `CAPABILITY_ID`` heading per capability.",
    ),
    "ECM015": _x(
        "Every capability has an input_schema, an output_schema, side_effects and (its own "
        "or its engine's) allowed_callers.",
        "### `PH1X_READ`\n- `input_schema`: `none`",
        "Add the keys the message names.",
    ),
    "ECM016": _x(
        "Capability ids are UPPER_SNAKE_CASE with at least two words.",
        "### `readRows`",
        "Rename it, e.g. `PH1X_READ_ROWS`.",
    ),
    "ECM017": _x(
        "Keys outside a block's vocabulary are kept as extras but read by nothing.",
        "- `colour`: red",
        "Check the spelling against the known keys the note lists, or drop the key.",
    ),
    "ECM018": _x(
        "Structured sections hold `key: value` bullets; a line there that is neither is read "
        "by nothing.",
        "## Fields\n- a line that defines nothing",
        "Write it as `- `name`: `type` — description`, or move prose out of the section.",
    ),
    "ECM019": _x(
        "A capability should have a human name.",
        "### `PH1X_READ` (with no `name`)",
        "Add `- `name`: Read rows`.",
    ),
    "ECM020": _x(
        "Type expressions follow the grammar documented in compiler/ecmc/frontend/type_grammar.py.",
        "- `input_schema`: `(tenant_id,, turn_id)`",
        "Fix the expression at the caret.",
    ),
    "ECM021": _x(
        "Every field a schema names is typed by the field dictionary: an explicit entry or a "
        "naming convention.",
        "- `input_schema`: `(now, tenant)`",
        "Use the dictionary's name (the note suggests one), or add the field to "
        "specs/common/fields.md.",
    ),
    "ECM022": _x(
        "Every named type (PascalCase) is a record some wiring spec defines.",
        "- `output_schema`: `Option<SessionRecord>`",
        "Define the record under `## Records` in the engine's wiring (`fields`, `row_of` or "
        "`alias_of`).",
    ),
    "ECM023": _x(
        "A variant `Record::variant` is one the record defines.",
        "- `input_schema`: `Ph1CapreqRequest::approve_v9`",
        "Use a variant the note lists, or add it under the record as `#### `approve_v9``.",
    ),
    "ECM024": _x(
        "Generics are Result<T, E>, Option<T>, Vec<T> and Map<K, V>, with their arguments.",
        "- `output_schema`: `Option<A, B>`",
        "Give the generic its arguments, e.g. `Option<A>`.",
    ),
    "ECM025": _x(
        "Prose inside a schema types nothing: only backticked fields are typed.",
        "- `input_schema`:\n  - provider response envelope from the adapter",
        "Name the fields in backticks: `` - `provider_response_ref` ``.",
    ),
    "ECM026": _x(
        "A field appears once in a record or tuple.",
        "- `input_schema`: `(tenant_id, tenant_id)`",
        "Remove the repeat.",
    ),
    "ECM027": _x(
        "A type stands only where its position allows: fields in tuples, records in inputs, "
        "`x=VALUE` only in tuples, a record as a Result's error.",
        "- `input_schema`: `Vec<tenant_id>`",
        "Use a field, a tuple of fields or a record as the input.",
    ),
    "ECM030": _x(
        "A capability id is declared once across all engines.",
        "two engines both declaring `### `PH1X_READ``",
        "Rename one; ids are global.",
    ),
    "ECM031": _x(
        "A reason code is declared once, by one engine.",
        "`X_FAIL_TIMEOUT` in two engines' Failure Modes",
        "Keep it in the engine that owns it; others reference it.",
    ),
    "ECM032": _x(
        "`allowed_callers` names a policy declared in the caller-policies spec.",
        "- `allowed_callers`: `OS_ONLY`",
        "Use a declared policy (the note lists them) or declare it in specs/common/callers.md.",
    ),
    "ECM033": _x(
        "A write capability says which audit events it emits.",
        "a DECLARED (DB_WRITE) capability with no Audit Emission Requirements bullet",
        "Add a bullet under `## Audit Emission Requirements Per Capability` naming it.",
    ),
    "ECM034": _x(
        "Audit payload keys are fields of the field dictionary.",
        "- write capabilities emit audit with bounded keys:\n  - `not_a_field`",
        "Use dictionary fields, or add the field to the dictionary.",
    ),
    "ECM035": _x(
        "Every data_owned table has a definition in some wiring spec.",
        "- `data_owned`: `sessions` (and no `### `sessions`` under Tables)",
        "Define the table under `## Tables` in the engine's wiring.",
    ),
    "ECM036": _x(
        "Every reason code a wiring names is declared by an ECM spec or a wiring `Reason "
        "Codes` section.",
        "- `contract_validation`: `X_FAIL_NOT_DECLARED`",
        "Declare the code, or use one that is declared.",
    ),
    "ECM037": _x(
        "side_effects is NONE or DECLARED (EFFECT + EFFECT ...) with known effects.",
        "- `side_effects`: `WRITES`",
        "Write `DECLARED (DB_WRITE)` or `NONE`.",
    ),
    "ECM038": _x(
        "An engine id is declared by one ECM spec.",
        "two files with `- `engine_id`: `PH1.D``",
        "Remove or rename the copy.",
    ),
    "ECM039": _x(
        "An audit requirement names capabilities that exist, by id or by a phrase that "
        "selects some ('write capabilities').",
        "- `PH1X_NOPE` must emit audit",
        "Name a capability the engine declares.",
    ),
    "ECM040": _x(
        "Reason codes are UPPER_SNAKE_CASE.",
        "- timeout: `x_fail_timeout`",
        "Write `X_FAIL_TIMEOUT`.",
    ),
    "ECM041": _x(
        "An engine declares at least one capability.",
        "## Capability List (empty)",
        "Add the engine's capabilities, or drop the spec.",
    ),
    "ECM042": _x(
        "data_owned names the tables the engine owns.",
        "- `data_owned`: nothing yet",
        "List them in backticks: `- `data_owned`: `sessions``.",
    ),
    "ECM050": _x(
        "Field types follow the field-type grammar: a base (string, int, bool, json, object, "
        "enum(A|B), an alias), bounds [min..max] where they apply, JSON limits {bytes=..N, "
        "strings=a..b} on json and object, [] for lists.",
        "- `stars`: `int[5..1]`",
        "Fix the type at the caret.",
    ),
    "ECM051": _x(
        "A field, alias or naming convention is defined once.",
        "- `tenant_id`: `string[1..64]`\n- `tenant_id`: `string[1..32]`",
        "Keep one definition.",
    ),
    "ECM052": _x(
        "A record is defined once.",
        "### `SessionRecord` in two wiring specs",
        "Keep one; any engine may use any record.",
    ),
    "ECM053": _x(
        "Field names are snake_case; conventions are `*_suffix` or `prefix_*`.",
        "- `id_*_suffix`: `string`",
        "Write `*_id` or `id_*`.",
    ),
    "ECM054": _x(
        "Keys, indexes, lookups, fills and projections name columns their table has.",
        "- `lookup`: `(no_such_column)`",
        "Use a column of the table, or add the column.",
    ),
    "ECM055": _x(
        "A wiring spec wires an engine some ECM spec declares.",
        "- `engine_id`: `PH1.NOPE` in a wiring header",
        "Fix the engine id, or add the engine's ECM spec.",
    ),
    "ECM056": _x(
        "A table is defined once.",
        "### `sessions` under Tables in two wiring specs",
        "Keep one definition.",
    ),
    "ECM057": _x(
        "A lifecycle is consistent: states declared, final states leave nowhere, each action "
        "names its capability, states and reason code.",
        "#### `APPROVE`\n- `from`: `DRAFTED` (not a state)",
        "Use declared states and codes.",
    ),
    "ECM058": _x(
        "Caller classes and policies are declared once, and policies admit declared classes.",
        "- `OS_ONLY`: `SELENE`",
        "Declare the class under Caller Classes, or fix the name.",
    ),
    "ECM059": _x(
        "A table is complete: snake_case name, truth type LEDGER/CURRENT/CACHE, columns, a "
        "primary key, an int identity, a TTL column for a CACHE, a scope consistent with its "
        "tenant column, projection_of only on a CURRENT table.",
        "### `tool_cache`\n- `truth_type`: `CACHE` (no `ttl_column`)",
        "Add what the message names.",
    ),
    "ECM060": _x(
        "A record is complete: PascalCase name, snake_case variants defined once, and one "
        "of fields, row_of or alias_of.",
        "### `sessionRecord`",
        "Rename it `SessionRecord`.",
    ),
    "ECM061": _x(
        "A companion kind is FIELD_DICTIONARY, CALLER_POLICIES or ENGINE_WIRING.",
        "- `kind`: `WIRING`",
        "Write `ENGINE_WIRING`.",
    ),
    "ECM062": _x(
        "Sections belong to their kind of spec; others are kept as notes.",
        "## Tables inside a FIELD_DICTIONARY spec",
        "Move the section to the engine's wiring spec.",
    ),
    "ECM063": _x(
        "A wiring entry (binding, lifecycle action, tool path) names a capability its engine "
        "declares.",
        "### `PH1X_NOPE` under Capability Bindings",
        "Use a declared capability id.",
    ),
    "ECM064": _x(
        "A binding is one the runtime can run: a known operation that fits the capability's "
        "side effects and table; reads that return a record the table can fill; lookups that "
        "are inputs; writes whose input (or fill) provides every NOT NULL column; an upsert "
        "keyed by a unique key.",
        "### `PH1L_UPSERT_SESSION_ROW`\n- `operation`: `upsert`\n(input lacks `session_state`)",
        "Do what the message says: add the field, `fill` the column, or change the binding.",
    ),
    "ECM065": _x(
        "Audit event types are declared per engine (`## Audit Event Types`) with payload keys "
        "and, when fixed, a severity (INFO, WARN, ERROR, CRITICAL); a binding's event_type "
        "is one of them.",
        "- `event_type`: `ToolNope` (declared nowhere)",
        "Declare it under the engine's `## Audit Event Types`, or use a declared one.",
    ),
    "ECM066": _x(
        "A table a capability acts on says whose rows it holds: a `tenant_column`, or `scope`: "
        "`GLOBAL` for rows every tenant shares. Scope fails closed.",
        "### `sessions`\n- `columns`: `(session_id, user_id)` (no tenant column, no scope)",
        "Add the tenant column and name it in `tenant_column`, or say `- `scope`: `GLOBAL``.",
    ),
    "ECM067": _x(
        "Where a meaning is read from words (real ECM files state audit modes in prose), the "
        "reading is reported so a person can check it. It never decides run-time behaviour: "
        "the wiring's explicit keys do.",
        "- read capability emits audit only in explicit replay/diagnostic mode.",
        "Nothing, if the reading is right; otherwise reword the bullet. What the runtime "
        "audits is each binding's `event_type`.",
    ),
    "ECM068": _x(
        "A binding or lifecycle names a table that no wiring spec defines under `## Tables`.",
        "- `table`: `nowhere`",
        "Define the table in its engine's wiring, or name one that is defined.",
    ),
    "ECM069": _x(
        "`## Reason Code Roles` maps the runtime's kinds of refusal to an engine's codes; a "
        "role the runtime does not know would never be used, so it is refused.",
        "- `weather_role`: `D_FAIL_TIMEOUT`",
        "Use one of the runtime's roles (ecm_contract.Role): "
        + ", ".join(role.value for role in Role)
        + ".",
    ),
    "ECM070": _x(
        "The runtime reads and writes some names itself: the audit envelope on the audit log "
        "and the tool path's key, payload, expiry, status and failure fields. The specs must "
        "have them, as declared (docs/companion-specs.md).",
        "- `payload_field`: `answer_blob`   (tool_cache has no column answer_blob)",
        "Add the column or field, or declare the name the specs use in the engine's Tool Path "
        "(e.g. `payload_field`).",
    ),
    "ECM071": _x(
        "Real ECM files amend a capability under a longer heading that starts with its id. "
        "The later keys replace the first declaration's, key by key; the reading is reported.",
        "### `VID_ENROLL_COMPLETE_COMMIT_ROW` sync receipt output (implemented)",
        "Nothing, if the refinement is meant; otherwise merge the two declarations.",
    ),
    "ECM072": _x(
        "A capability with no binding is a handler; the runtime writes an audit row only for a "
        "binding that names its event type, so a handler whose spec requires audit needs one.",
        "(no `### `PH1X_DISPATCH_COMMIT_ROW`` under `## Capability Bindings`)",
        "Bind it: `operation`: `handler` and the `event_type` its audit rows have.",
    ),
    "ECM073": _x(
        "ecmc init drafts dictionary entries, conventions, tables, records, schemas, bindings "
        "and caller classes, and says how it guessed each ('inferred from ...'). Until a "
        "person checks one, lint lists it.",
        "- `status`: `string` — inferred from 0012_x.sql:14 onboarding_drafts.status TEXT",
        "Check the entry; then drop the 'inferred ...' words (or write your own description).",
    ),
    "ECM074": _x(
        "Every unique key of a tenant's rows (primary, unique, idempotency) holds its tenant "
        "column; a database-numbered identity is the exception. A key shared across tenants "
        "refuses one tenant's row because another holds the value (telling it so), and keeps "
        "the table from being distributed by tenant.",
        "- `ux_events_idempotency`: `(correlation_id, idempotency_key)`",
        "Add the tenant column: `(tenant_id, correlation_id, idempotency_key)`.",
    ),
    "ECM075": _x(
        "Build parses every generated module before writing and refuses one that would not "
        "compile or binds a name twice: the lock behind the emitters' escaping and renaming.",
        "(spec text the emitters could not place; please report it with the spec)",
        "Reword the spec text at the location given, and report the case to ecmc.",
    ),
    "ECM076": _x(
        "A shape outside the grammar (a bare side-effect name, `vNext`, a note after a field, "
        "nested records, a list without parentheses) is read as a careful person would; the "
        "reading is said. README, 'ECM files are read as they vary', lists each.",
        "- `side_effects`: `EXTERNAL_SEND`",
        "Nothing, if right; write the canonical spelling the note gives to silence it.",
    ),
}
