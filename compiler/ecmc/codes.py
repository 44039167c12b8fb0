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
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class DiagnosticCode:
    code: str
    severity: Severity
    summary: str


_E, _W = Severity.ERROR, Severity.WARNING

_TABLE: tuple[DiagnosticCode, ...] = (
    # read: bytes that cannot be a spec
    DiagnosticCode("ECM001", _E, "the file is not valid UTF-8 text"),
    DiagnosticCode("ECM002", _E, "the file is empty or holds only whitespace"),
    DiagnosticCode("ECM003", _E, "the file is larger than the spec size limit"),
    DiagnosticCode("ECM004", _E, "the file holds binary data (NUL or control bytes)"),
    DiagnosticCode("ECM005", _E, "the file is neither an ECM spec nor a companion spec"),
    # document structure
    DiagnosticCode("ECM010", _E, "a required header key is missing"),
    DiagnosticCode("ECM011", _E, "a header or capability value is malformed"),
    DiagnosticCode("ECM012", _E, "a key is given twice in the same block"),
    DiagnosticCode("ECM013", _W, "a recommended header key is missing"),
    DiagnosticCode("ECM014", _E, "a required section is missing"),
    DiagnosticCode("ECM015", _E, "a capability lacks a required key"),
    DiagnosticCode("ECM016", _E, "a capability id is malformed"),
    DiagnosticCode("ECM017", _W, "a key is outside its block's vocabulary (kept as an extra)"),
    DiagnosticCode("ECM018", _W, "a line in a structured section could not be interpreted"),
    DiagnosticCode("ECM019", _W, "a capability has no name"),
    # type expressions
    DiagnosticCode("ECM020", _E, "a type expression does not follow the type grammar"),
    DiagnosticCode("ECM021", _E, "a field name is not in the field dictionary or any convention"),
    DiagnosticCode("ECM022", _E, "a named type is not defined by any companion spec"),
    DiagnosticCode("ECM023", _E, "a variant is not defined for its named type"),
    DiagnosticCode("ECM024", _E, "a generic type is unknown or has the wrong number of arguments"),
    DiagnosticCode("ECM025", _W, "prose in a schema could not be typed"),
    DiagnosticCode("ECM026", _E, "a field appears twice in one record or tuple"),
    DiagnosticCode("ECM027", _E, "a type is used where the grammar position does not allow it"),
    # cross-spec semantics
    DiagnosticCode("ECM030", _E, "a capability id is declared twice"),
    DiagnosticCode("ECM031", _E, "a reason code is declared twice"),
    DiagnosticCode("ECM032", _E, "an allowed_callers policy is not declared"),
    DiagnosticCode("ECM033", _E, "a write capability has no audit emission requirement"),
    DiagnosticCode("ECM034", _E, "an audit key is not a known field"),
    DiagnosticCode("ECM035", _E, "a data_owned table has no table definition"),
    DiagnosticCode("ECM036", _E, "a reason code is referenced but never declared"),
    DiagnosticCode("ECM037", _E, "side_effects is malformed or names an unknown effect"),
    DiagnosticCode("ECM038", _E, "an engine id is declared twice"),
    DiagnosticCode("ECM039", _W, "an audit requirement names no capability that exists"),
    DiagnosticCode("ECM040", _E, "a reason code is not UPPER_SNAKE_CASE"),
    DiagnosticCode("ECM041", _W, "an engine declares no capabilities"),
    DiagnosticCode("ECM042", _W, "data_owned names no table"),
    # companion specs
    DiagnosticCode("ECM050", _E, "a field type does not follow the field-type grammar"),
    DiagnosticCode("ECM051", _E, "a field, alias or convention is defined twice"),
    DiagnosticCode("ECM052", _E, "a record type is defined twice"),
    DiagnosticCode("ECM053", _E, "a naming convention pattern or a field name is malformed"),
    DiagnosticCode("ECM054", _E, "a key or index names a column its table does not have"),
    DiagnosticCode("ECM055", _E, "wiring refers to an engine that no ECM spec declares"),
    DiagnosticCode("ECM056", _E, "a table is defined twice"),
    DiagnosticCode("ECM057", _E, "a lifecycle transition is inconsistent"),
    DiagnosticCode("ECM058", _E, "a caller class or policy is unknown or defined twice"),
    DiagnosticCode("ECM059", _E, "a table definition is incomplete or inconsistent"),
    DiagnosticCode("ECM060", _E, "a record definition is incomplete or inconsistent"),
    DiagnosticCode("ECM061", _E, "a companion header kind is unknown"),
    DiagnosticCode("ECM062", _W, "a section does not belong in this kind of spec (kept as a note)"),
    DiagnosticCode("ECM063", _E, "a wiring entry refers to a capability that does not exist"),
    DiagnosticCode("ECM064", _E, "a capability binding does not fit its capability or its table"),
    DiagnosticCode("ECM065", _E, "an audit event type is undeclared, declared twice or malformed"),
    DiagnosticCode("ECM066", _E, "a capability acts on a table that has no tenant scope"),
    DiagnosticCode("ECM067", _W, "a meaning was read from prose by a heuristic"),
)

REGISTRY: dict[str, DiagnosticCode] = {entry.code: entry for entry in _TABLE}


def lookup(code: str) -> DiagnosticCode:
    return REGISTRY[code]
