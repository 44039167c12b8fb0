"""The rules of what ECM specs mean together: unique ids, declared policies, codes and
tables, audited writes (ECM030-ECM042)."""

from __future__ import annotations

from ecmc.codes import Code
from ecmc.registry.rule import Rule, Severity

_E, _W = Severity.ERROR, Severity.WARNING

RULES: tuple[Rule, ...] = (
    Rule(
        Code.DUPLICATE_CAPABILITY,
        _E,
        summary="a capability id is declared twice",
        rule="A capability id is declared once across all engines.",
        example="two engines both declaring `### `PH1X_READ``",
        fix="Rename one; ids are global.",
    ),
    Rule(
        Code.DUPLICATE_REASON_CODE,
        _E,
        summary="a reason code is declared twice",
        rule="A reason code is declared once, by one engine.",
        example="`X_FAIL_TIMEOUT` in two engines' Failure Modes",
        fix="Keep it in the engine that owns it; others reference it.",
    ),
    Rule(
        Code.UNKNOWN_POLICY,
        _E,
        summary="an allowed_callers policy is not declared",
        rule=("`allowed_callers` names a policy declared in the caller-policies spec."),
        example="- `allowed_callers`: `OS_ONLY`",
        fix=(
            "Use a declared policy (the note lists them) or declare it in specs/common/callers.md."
        ),
    ),
    Rule(
        Code.UNAUDITED_WRITE,
        _E,
        summary="a write capability has no audit emission requirement",
        rule="A write capability says which audit events it emits.",
        example=("a DECLARED (DB_WRITE) capability with no Audit Emission Requirements bullet"),
        fix=("Add a bullet under `## Audit Emission Requirements Per Capability` naming it."),
    ),
    Rule(
        Code.UNKNOWN_AUDIT_KEY,
        _E,
        summary="an audit key is not a known field",
        rule="Audit payload keys are fields of the field dictionary.",
        example=("- write capabilities emit audit with bounded keys:\n  - `not_a_field`"),
        fix="Use dictionary fields, or add the field to the dictionary.",
    ),
    Rule(
        Code.UNDEFINED_OWNED_TABLE,
        _E,
        summary="a data_owned table has no table definition",
        rule="Every data_owned table has a definition in some wiring spec.",
        example="- `data_owned`: `sessions` (and no `### `sessions`` under Tables)",
        fix="Define the table under `## Tables` in the engine's wiring.",
    ),
    Rule(
        Code.UNDECLARED_REASON_CODE,
        _E,
        summary="a reason code is referenced but never declared",
        rule=(
            "Every reason code a wiring names is declared by an ECM spec or a "
            "wiring `Reason Codes` section."
        ),
        example="- `contract_validation`: `X_FAIL_NOT_DECLARED`",
        fix="Declare the code, or use one that is declared.",
    ),
    Rule(
        Code.BAD_SIDE_EFFECTS,
        _E,
        summary="side_effects is malformed or names an unknown effect",
        rule=("side_effects is NONE or DECLARED (EFFECT + EFFECT ...) with known effects."),
        example="- `side_effects`: `WRITES`",
        fix="Write `DECLARED (DB_WRITE)` or `NONE`.",
    ),
    Rule(
        Code.DUPLICATE_ENGINE,
        _E,
        summary="an engine id is declared twice",
        rule="An engine id is declared by one ECM spec.",
        example="two files with `- `engine_id`: `PH1.D``",
        fix="Remove or rename the copy.",
    ),
    Rule(
        Code.AUDIT_NAMES_NOTHING,
        _W,
        summary="an audit requirement names no capability that exists",
        rule=(
            "An audit requirement names capabilities that exist, by id or by a "
            "phrase that selects some ('write capabilities')."
        ),
        example="- `PH1X_NOPE` must emit audit",
        fix="Name a capability the engine declares.",
    ),
    Rule(
        Code.REASON_CODE_CASE,
        _E,
        summary="a reason code is not UPPER_SNAKE_CASE",
        rule="Reason codes are UPPER_SNAKE_CASE.",
        example="- timeout: `x_fail_timeout`",
        fix="Write `X_FAIL_TIMEOUT`.",
    ),
    Rule(
        Code.NO_CAPABILITIES,
        _W,
        summary="an engine declares no capabilities",
        rule="An engine declares at least one capability.",
        example="## Capability List (empty)",
        fix="Add the engine's capabilities, or drop the spec.",
    ),
    Rule(
        Code.NO_OWNED_TABLE,
        _W,
        summary="data_owned names no table",
        rule="data_owned names the tables the engine owns.",
        example="- `data_owned`: nothing yet",
        fix="List them in backticks: `- `data_owned`: `sessions``.",
    ),
)
