"""The rules of companion specs (field dictionary, wiring, records, callers) and of what the
runtime relies on, and of suppressions (ECM050-ECM077)."""

from __future__ import annotations

from ecmc.codes import Code
from ecmc.registry.rule import Rule, Severity

_E, _W = Severity.ERROR, Severity.WARNING

RULES: tuple[Rule, ...] = (
    Rule(
        Code.FIELD_TYPE_SYNTAX,
        _E,
        summary="a field type does not follow the field-type grammar",
        rule=(
            "Field types follow the field-type grammar: a base (string, int, "
            "bool, json, object, enum(A|B), an alias), bounds [min..max] where "
            "they apply, JSON limits {bytes=..N, strings=a..b} on json and "
            "object, [] for lists."
        ),
        example="- `stars`: `int[5..1]`",
        fix="Fix the type at the caret.",
    ),
    Rule(
        Code.DUPLICATE_DEFINITION,
        _E,
        summary="a field, alias or convention is defined twice",
        rule="A field, alias or naming convention is defined once.",
        example="- `tenant_id`: `string[1..64]`\n- `tenant_id`: `string[1..32]`",
        fix="Keep one definition.",
    ),
    Rule(
        Code.DUPLICATE_RECORD,
        _E,
        summary="a record type is defined twice",
        rule="A record is defined once.",
        example="### `SessionRecord` in two wiring specs",
        fix="Keep one; any engine may use any record.",
    ),
    Rule(
        Code.BAD_NAME_PATTERN,
        _E,
        summary="a naming convention pattern or a field name is malformed",
        rule=("Field names are snake_case; conventions are `*_suffix` or `prefix_*`."),
        example="- `id_*_suffix`: `string`",
        fix="Write `*_id` or `id_*`.",
    ),
    Rule(
        Code.UNKNOWN_COLUMN,
        _E,
        summary="a key or index names a column its table does not have",
        rule=("Keys, indexes, lookups, fills and projections name columns their table has."),
        example="- `lookup`: `(no_such_column)`",
        fix="Use a column of the table, or add the column.",
    ),
    Rule(
        Code.UNKNOWN_ENGINE,
        _E,
        summary="wiring refers to an engine that no ECM spec declares",
        rule="A wiring spec wires an engine some ECM spec declares.",
        example="- `engine_id`: `PH1.NOPE` in a wiring header",
        fix="Fix the engine id, or add the engine's ECM spec.",
    ),
    Rule(
        Code.DUPLICATE_TABLE,
        _E,
        summary="a table is defined twice",
        rule="A table is defined once.",
        example="### `sessions` under Tables in two wiring specs",
        fix="Keep one definition.",
    ),
    Rule(
        Code.BAD_TRANSITION,
        _E,
        summary="a lifecycle transition is inconsistent",
        rule=(
            "A lifecycle is consistent: states declared, final states leave "
            "nowhere, each action names its capability, states and reason code."
        ),
        example="#### `APPROVE`\n- `from`: `DRAFTED` (not a state)",
        fix="Use declared states and codes.",
    ),
    Rule(
        Code.BAD_CALLER_POLICY,
        _E,
        summary="a caller class or policy is unknown or defined twice",
        rule=(
            "Caller classes and policies are declared once, and policies admit declared classes."
        ),
        example="- `OS_ONLY`: `SELENE`",
        fix="Declare the class under Caller Classes, or fix the name.",
    ),
    Rule(
        Code.BAD_TABLE,
        _E,
        summary="a table definition is incomplete or inconsistent",
        rule=(
            "A table is complete: snake_case name, truth type "
            "LEDGER/CURRENT/CACHE, columns, a primary key, an int identity, a "
            "TTL column for a CACHE, a scope consistent with its tenant column, "
            "projection_of only on a CURRENT table."
        ),
        example="### `tool_cache`\n- `truth_type`: `CACHE` (no `ttl_column`)",
        fix="Add what the message names.",
    ),
    Rule(
        Code.BAD_RECORD,
        _E,
        summary="a record definition is incomplete or inconsistent",
        rule=(
            "A record is complete: PascalCase name, snake_case variants defined "
            "once, and one of fields, row_of or alias_of."
        ),
        example="### `sessionRecord`",
        fix="Rename it `SessionRecord`.",
    ),
    Rule(
        Code.UNKNOWN_COMPANION_KIND,
        _E,
        summary="a companion header kind is unknown",
        rule=("A companion kind is FIELD_DICTIONARY, CALLER_POLICIES or ENGINE_WIRING."),
        example="- `kind`: `WIRING`",
        fix="Write `ENGINE_WIRING`.",
    ),
    Rule(
        Code.MISPLACED_SECTION,
        _W,
        summary="a section does not belong in this kind of spec (kept as a note)",
        rule="Sections belong to their kind of spec; others are kept as notes.",
        example="## Tables inside a FIELD_DICTIONARY spec",
        fix="Move the section to the engine's wiring spec.",
    ),
    Rule(
        Code.UNKNOWN_CAPABILITY,
        _E,
        summary="a wiring entry refers to a capability that does not exist",
        rule=(
            "A wiring entry (binding, lifecycle action, tool path) names a "
            "capability its engine declares."
        ),
        example="### `PH1X_NOPE` under Capability Bindings",
        fix="Use a declared capability id.",
    ),
    Rule(
        Code.BAD_BINDING,
        _E,
        summary="a capability binding does not fit its capability or its table",
        rule=(
            "A binding is one the runtime can run: a known operation that fits "
            "the capability's side effects and table; reads that return a "
            "record the table can fill; lookups that are inputs; writes whose "
            "input (or fill) provides every NOT NULL column; an upsert keyed by "
            "a unique key."
        ),
        example=(
            "### `PH1L_UPSERT_SESSION_ROW`\n- `operation`: `upsert`\n(input lacks `session_state`)"
        ),
        fix=("Do what the message says: add the field, `fill` the column, or change the binding."),
    ),
    Rule(
        Code.BAD_AUDIT_EVENT_TYPE,
        _E,
        summary="an audit event type is undeclared, declared twice or malformed",
        rule=(
            "Audit event types are declared per engine (`## Audit Event Types`) "
            "with payload keys and, when fixed, a severity (INFO, WARN, ERROR, "
            "CRITICAL); a binding's event_type is one of them."
        ),
        example="- `event_type`: `ToolNope` (declared nowhere)",
        fix=("Declare it under the engine's `## Audit Event Types`, or use a declared one."),
    ),
    Rule(
        Code.UNSCOPED_TABLE,
        _E,
        summary="a capability acts on a table that has no tenant scope",
        rule=(
            "A table a capability acts on says whose rows it holds: a "
            "`tenant_column`, or `scope`: `GLOBAL` for rows every tenant "
            "shares. Scope fails closed."
        ),
        example=(
            "### `sessions`\n- `columns`: `(session_id, user_id)` (no tenant column, no scope)"
        ),
        fix=("Add the tenant column and name it in `tenant_column`, or say `- `scope`: `GLOBAL``."),
    ),
    Rule(
        Code.PROSE_HEURISTIC,
        _W,
        summary="a meaning was read from prose by a heuristic",
        rule=(
            "Where a meaning is read from words (real ECM files state audit "
            "modes in prose), the reading is reported so a person can check it. "
            "It never decides run-time behaviour: the wiring's explicit keys "
            "do."
        ),
        example=("- read capability emits audit only in explicit replay/diagnostic mode."),
        fix=(
            "Nothing, if the reading is right; otherwise reword the bullet. "
            "What the runtime audits is each binding's `event_type`."
        ),
    ),
    Rule(
        Code.UNDEFINED_TABLE,
        _E,
        summary="a wiring entry names a table no wiring defines",
        rule=(
            "A binding or lifecycle names a table that no wiring spec defines under `## Tables`."
        ),
        example="- `table`: `nowhere`",
        fix=("Define the table in its engine's wiring, or name one that is defined."),
    ),
    Rule(
        Code.UNKNOWN_ROLE,
        _E,
        summary="a reason-code role is not one the runtime knows",
        rule=(
            "`## Reason Code Roles` maps the runtime's kinds of refusal to an "
            "engine's codes; a role the runtime does not know would never be "
            "used, so it is refused."
        ),
        example="- `weather_role`: `D_FAIL_TIMEOUT`",
        fix=(
            "Use one of the runtime's roles (ecm_contract.Role): "
            "contract_validation, scope_violation, idempotency_replay, "
            "append_only_violation, caller_refused, transition_invalid, "
            "not_found, forbidden_tool, timeout, budget_exceeded, policy_block, "
            "forbidden_domain, provider_error, handler_missing, handler_failed, "
            "storage_unavailable."
        ),
    ),
    Rule(
        Code.RUNTIME_CONTRACT,
        _E,
        summary="a name the runtime relies on is missing or has the wrong type",
        rule=(
            "The runtime reads and writes some names itself: the audit envelope "
            "on the audit log and the tool path's key, payload, expiry, status "
            "and failure fields. The specs must have them, as declared "
            "(docs/companion-specs.md)."
        ),
        example=("- `payload_field`: `answer_blob`   (tool_cache has no column answer_blob)"),
        fix=(
            "Add the column or field, or declare the name the specs use in the "
            "engine's Tool Path (e.g. `payload_field`)."
        ),
    ),
    Rule(
        Code.REFINED_CAPABILITY,
        _W,
        summary=(
            "a capability is declared again under a longer heading; its keys refine the first"
        ),
        rule=(
            "Real ECM files amend a capability under a longer heading that "
            "starts with its id. The later keys replace the first "
            "declaration's, key by key; the reading is reported."
        ),
        example=("### `VID_ENROLL_COMPLETE_COMMIT_ROW` sync receipt output (implemented)"),
        fix=("Nothing, if the refinement is meant; otherwise merge the two declarations."),
    ),
    Rule(
        Code.UNAUDITED_HANDLER,
        _W,
        summary=("a handler capability must emit audit, but no binding names its event type"),
        rule=(
            "A capability with no binding is a handler; the runtime writes an "
            "audit row only for a binding that names its event type, so a "
            "handler whose spec requires audit needs one."
        ),
        example=("(no `### `PH1X_DISPATCH_COMMIT_ROW`` under `## Capability Bindings`)"),
        fix=("Bind it: `operation`: `handler` and the `event_type` its audit rows have."),
    ),
    Rule(
        Code.UNCONFIRMED_DRAFT,
        _W,
        summary=(
            "an entry ecmc init inferred is not confirmed yet (its description says 'inferred')"
        ),
        rule=(
            "ecmc init drafts dictionary entries, conventions, tables, records, "
            "schemas, bindings and caller classes, and says how it guessed each "
            "('inferred from ...'). Until a person checks one, lint lists it."
        ),
        example=(
            "- `status`: `string` — inferred from 0012_x.sql:14 onboarding_drafts.status TEXT"
        ),
        fix=(
            "Check the entry; then drop the 'inferred ...' words (or write your own description)."
        ),
    ),
    Rule(
        Code.UNSCOPED_KEY,
        _E,
        summary="a unique key of a tenant-scoped table leaves out its tenant column",
        rule=(
            "Every unique key of a tenant's rows (primary, unique, idempotency) "
            "holds its tenant column; a database-numbered identity is the "
            "exception. A key shared across tenants refuses one tenant's row "
            "because another holds the value (telling it so), and keeps the "
            "table from being distributed by tenant."
        ),
        example="- `ux_events_idempotency`: `(correlation_id, idempotency_key)`",
        fix=("Add the tenant column: `(tenant_id, correlation_id, idempotency_key)`."),
    ),
    Rule(
        Code.UNCOMPILABLE_OUTPUT,
        _E,
        summary="the generated code would not compile, or binds a name twice",
        rule=(
            "Build parses every generated module before writing and refuses one "
            "that would not compile or binds a name twice: the lock behind the "
            "emitters' escaping and renaming."
        ),
        example=("(spec text the emitters could not place; please report it with the spec)"),
        fix=("Reword the spec text at the location given, and report the case to ecmc."),
    ),
    Rule(
        Code.READING,
        _W,
        summary=(
            "text written in a shape outside the grammar was read one way; the reading is stated"
        ),
        rule=(
            "A shape outside the grammar (a bare side-effect name, `vNext`, a "
            "note after a field, nested records, a list without parentheses) is "
            "read as a careful person would; the reading is said. README, 'ECM "
            "files are read as they vary', lists each."
        ),
        example="- `side_effects`: `EXTERNAL_SEND`",
        fix=("Nothing, if right; write the canonical spelling the note gives to silence it."),
    ),
    Rule(
        Code.SUPPRESSION,
        _W,
        summary="a suppression names an error or no code, states no reason, or silences nothing",
        rule=(
            "A warning is acknowledged next to what it silences, with the reason "
            "(`<!-- ecmc: allow CODE reason -->`); errors are fixed, not silenced."
        ),
        example="<!-- ecmc: allow ECM067 -->  (no reason)",
        fix="State why the warning is right here, or delete the suppression.",
    ),
)
