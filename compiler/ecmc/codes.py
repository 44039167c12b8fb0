"""The registry of stable diagnostic codes.

Codes are never renumbered or reused: scripts and snapshot tests depend on them. Each code has a
default severity and a one-line description, printed by `ecmc lint --explain CODE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(StrEnum):
    """Every diagnostic code, by what it means; its value is what users see and script on."""

    NOT_UTF8 = "ECM001"
    EMPTY_FILE = "ECM002"
    FILE_TOO_LARGE = "ECM003"
    BINARY_FILE = "ECM004"
    NOT_A_SPEC = "ECM005"
    MISSING_KEY = "ECM010"
    MALFORMED_VALUE = "ECM011"
    DUPLICATE_KEY = "ECM012"
    MISSING_RECOMMENDED_KEY = "ECM013"
    MISSING_SECTION = "ECM014"
    CAPABILITY_KEY_MISSING = "ECM015"
    MALFORMED_CAPABILITY_ID = "ECM016"
    UNKNOWN_KEY = "ECM017"
    UNREADABLE_LINE = "ECM018"
    UNNAMED_CAPABILITY = "ECM019"
    TYPE_SYNTAX = "ECM020"
    UNTYPED_FIELD = "ECM021"
    UNDEFINED_TYPE = "ECM022"
    UNDEFINED_VARIANT = "ECM023"
    BAD_GENERIC = "ECM024"
    UNTYPED_PROSE = "ECM025"
    DUPLICATE_FIELD = "ECM026"
    MISPLACED_TYPE = "ECM027"
    DUPLICATE_CAPABILITY = "ECM030"
    DUPLICATE_REASON_CODE = "ECM031"
    UNKNOWN_POLICY = "ECM032"
    UNAUDITED_WRITE = "ECM033"
    UNKNOWN_AUDIT_KEY = "ECM034"
    UNDEFINED_OWNED_TABLE = "ECM035"
    UNDECLARED_REASON_CODE = "ECM036"
    BAD_SIDE_EFFECTS = "ECM037"
    DUPLICATE_ENGINE = "ECM038"
    AUDIT_NAMES_NOTHING = "ECM039"
    REASON_CODE_CASE = "ECM040"
    NO_CAPABILITIES = "ECM041"
    NO_OWNED_TABLE = "ECM042"
    FIELD_TYPE_SYNTAX = "ECM050"
    DUPLICATE_DEFINITION = "ECM051"
    DUPLICATE_RECORD = "ECM052"
    BAD_NAME_PATTERN = "ECM053"
    UNKNOWN_COLUMN = "ECM054"
    UNKNOWN_ENGINE = "ECM055"
    DUPLICATE_TABLE = "ECM056"
    BAD_TRANSITION = "ECM057"
    BAD_CALLER_POLICY = "ECM058"
    BAD_TABLE = "ECM059"
    BAD_RECORD = "ECM060"
    UNKNOWN_COMPANION_KIND = "ECM061"
    MISPLACED_SECTION = "ECM062"
    UNKNOWN_CAPABILITY = "ECM063"
    BAD_BINDING = "ECM064"
    BAD_AUDIT_EVENT_TYPE = "ECM065"
    UNSCOPED_TABLE = "ECM066"
    PROSE_HEURISTIC = "ECM067"
    UNDEFINED_TABLE = "ECM068"
    UNKNOWN_ROLE = "ECM069"
    RUNTIME_CONTRACT = "ECM070"
    REFINED_CAPABILITY = "ECM071"
    UNAUDITED_HANDLER = "ECM072"
    UNCONFIRMED_DRAFT = "ECM073"
    UNSCOPED_KEY = "ECM074"
    UNCOMPILABLE_OUTPUT = "ECM075"
    READING = "ECM076"


@dataclass(frozen=True, slots=True)
class DiagnosticCode:
    code: Code
    severity: Severity
    summary: str


_E, _W = Severity.ERROR, Severity.WARNING

_TABLE: tuple[DiagnosticCode, ...] = (
    # read: bytes that cannot be a spec
    DiagnosticCode(Code.NOT_UTF8, _E, "the file is not valid UTF-8 text"),
    DiagnosticCode(Code.EMPTY_FILE, _E, "the file is empty or holds only whitespace"),
    DiagnosticCode(Code.FILE_TOO_LARGE, _E, "the file is larger than the spec size limit"),
    DiagnosticCode(Code.BINARY_FILE, _E, "the file holds binary data (NUL or control bytes)"),
    DiagnosticCode(Code.NOT_A_SPEC, _E, "the file is neither an ECM spec nor a companion spec"),
    # document structure
    DiagnosticCode(Code.MISSING_KEY, _E, "a required header key is missing"),
    DiagnosticCode(Code.MALFORMED_VALUE, _E, "a header or capability value is malformed"),
    DiagnosticCode(Code.DUPLICATE_KEY, _E, "a key is given twice in the same block"),
    DiagnosticCode(Code.MISSING_RECOMMENDED_KEY, _W, "a recommended header key is missing"),
    DiagnosticCode(Code.MISSING_SECTION, _E, "a required section is missing"),
    DiagnosticCode(Code.CAPABILITY_KEY_MISSING, _E, "a capability lacks a required key"),
    DiagnosticCode(Code.MALFORMED_CAPABILITY_ID, _E, "a capability id is malformed"),
    DiagnosticCode(
        Code.UNKNOWN_KEY, _W, "a key is outside its block's vocabulary (kept as an extra)"
    ),
    DiagnosticCode(
        Code.UNREADABLE_LINE, _W, "a line in a structured section could not be interpreted"
    ),
    DiagnosticCode(Code.UNNAMED_CAPABILITY, _W, "a capability has no name"),
    # type expressions
    DiagnosticCode(Code.TYPE_SYNTAX, _E, "a type expression does not follow the type grammar"),
    DiagnosticCode(
        Code.UNTYPED_FIELD, _E, "a field name is not in the field dictionary or any convention"
    ),
    DiagnosticCode(Code.UNDEFINED_TYPE, _E, "a named type is not defined by any companion spec"),
    DiagnosticCode(Code.UNDEFINED_VARIANT, _E, "a variant is not defined for its named type"),
    DiagnosticCode(
        Code.BAD_GENERIC, _E, "a generic type is unknown or has the wrong number of arguments"
    ),
    DiagnosticCode(Code.UNTYPED_PROSE, _W, "prose in a schema could not be typed"),
    DiagnosticCode(Code.DUPLICATE_FIELD, _E, "a field appears twice in one record or tuple"),
    DiagnosticCode(
        Code.MISPLACED_TYPE, _E, "a type is used where the grammar position does not allow it"
    ),
    # cross-spec semantics
    DiagnosticCode(Code.DUPLICATE_CAPABILITY, _E, "a capability id is declared twice"),
    DiagnosticCode(Code.DUPLICATE_REASON_CODE, _E, "a reason code is declared twice"),
    DiagnosticCode(Code.UNKNOWN_POLICY, _E, "an allowed_callers policy is not declared"),
    DiagnosticCode(
        Code.UNAUDITED_WRITE, _E, "a write capability has no audit emission requirement"
    ),
    DiagnosticCode(Code.UNKNOWN_AUDIT_KEY, _E, "an audit key is not a known field"),
    DiagnosticCode(Code.UNDEFINED_OWNED_TABLE, _E, "a data_owned table has no table definition"),
    DiagnosticCode(
        Code.UNDECLARED_REASON_CODE, _E, "a reason code is referenced but never declared"
    ),
    DiagnosticCode(
        Code.BAD_SIDE_EFFECTS, _E, "side_effects is malformed or names an unknown effect"
    ),
    DiagnosticCode(Code.DUPLICATE_ENGINE, _E, "an engine id is declared twice"),
    DiagnosticCode(
        Code.AUDIT_NAMES_NOTHING, _W, "an audit requirement names no capability that exists"
    ),
    DiagnosticCode(Code.REASON_CODE_CASE, _E, "a reason code is not UPPER_SNAKE_CASE"),
    DiagnosticCode(Code.NO_CAPABILITIES, _W, "an engine declares no capabilities"),
    DiagnosticCode(Code.NO_OWNED_TABLE, _W, "data_owned names no table"),
    # companion specs
    DiagnosticCode(
        Code.FIELD_TYPE_SYNTAX, _E, "a field type does not follow the field-type grammar"
    ),
    DiagnosticCode(Code.DUPLICATE_DEFINITION, _E, "a field, alias or convention is defined twice"),
    DiagnosticCode(Code.DUPLICATE_RECORD, _E, "a record type is defined twice"),
    DiagnosticCode(
        Code.BAD_NAME_PATTERN, _E, "a naming convention pattern or a field name is malformed"
    ),
    DiagnosticCode(
        Code.UNKNOWN_COLUMN, _E, "a key or index names a column its table does not have"
    ),
    DiagnosticCode(Code.UNKNOWN_ENGINE, _E, "wiring refers to an engine that no ECM spec declares"),
    DiagnosticCode(Code.DUPLICATE_TABLE, _E, "a table is defined twice"),
    DiagnosticCode(Code.BAD_TRANSITION, _E, "a lifecycle transition is inconsistent"),
    DiagnosticCode(
        Code.BAD_CALLER_POLICY, _E, "a caller class or policy is unknown or defined twice"
    ),
    DiagnosticCode(Code.BAD_TABLE, _E, "a table definition is incomplete or inconsistent"),
    DiagnosticCode(Code.BAD_RECORD, _E, "a record definition is incomplete or inconsistent"),
    DiagnosticCode(Code.UNKNOWN_COMPANION_KIND, _E, "a companion header kind is unknown"),
    DiagnosticCode(
        Code.MISPLACED_SECTION,
        _W,
        "a section does not belong in this kind of spec (kept as a note)",
    ),
    DiagnosticCode(
        Code.UNKNOWN_CAPABILITY, _E, "a wiring entry refers to a capability that does not exist"
    ),
    DiagnosticCode(
        Code.BAD_BINDING, _E, "a capability binding does not fit its capability or its table"
    ),
    DiagnosticCode(
        Code.BAD_AUDIT_EVENT_TYPE,
        _E,
        "an audit event type is undeclared, declared twice or malformed",
    ),
    DiagnosticCode(
        Code.UNSCOPED_TABLE, _E, "a capability acts on a table that has no tenant scope"
    ),
    DiagnosticCode(Code.PROSE_HEURISTIC, _W, "a meaning was read from prose by a heuristic"),
    DiagnosticCode(Code.UNDEFINED_TABLE, _E, "a wiring entry names a table no wiring defines"),
    DiagnosticCode(Code.UNKNOWN_ROLE, _E, "a reason-code role is not one the runtime knows"),
    DiagnosticCode(
        Code.RUNTIME_CONTRACT, _E, "a name the runtime relies on is missing or has the wrong type"
    ),
    DiagnosticCode(
        Code.REFINED_CAPABILITY,
        _W,
        "a capability is declared again under a longer heading; its keys refine the first",
    ),
    DiagnosticCode(
        Code.UNAUDITED_HANDLER,
        _W,
        "a handler capability must emit audit, but no binding names its event type",
    ),
    DiagnosticCode(
        Code.UNCONFIRMED_DRAFT,
        _W,
        "an entry ecmc init inferred is not confirmed yet (its description says 'inferred')",
    ),
    DiagnosticCode(
        Code.UNSCOPED_KEY, _E, "a unique key of a tenant-scoped table leaves out its tenant column"
    ),
    DiagnosticCode(
        Code.UNCOMPILABLE_OUTPUT, _E, "the generated code would not compile, or binds a name twice"
    ),
    DiagnosticCode(
        Code.READING,
        _W,
        "text written in a shape outside the grammar was read one way; the reading is stated",
    ),
)

REGISTRY: dict[str, DiagnosticCode] = {entry.code.value: entry for entry in _TABLE}


def lookup(code: Code) -> DiagnosticCode:
    return REGISTRY[code.value]
