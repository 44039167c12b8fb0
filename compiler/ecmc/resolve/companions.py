"""Companion specs: the header, the engine a wiring spec wires, its sections by kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import keyed, value_text
from ecmc.frontend.syntax import Bullet, CompanionSection, CompanionSyntax
from ecmc.resolve.engine import ENGINE_ID

SECTIONS_BY_KIND: Mapping[str, frozenset[str]] = {
    "FIELD_DICTIONARY": frozenset({"conventions", "aliases", "fields"}),
    "CALLER_POLICIES": frozenset({"caller_classes", "caller_policies"}),
    "ENGINE_WIRING": frozenset(
        {
            "records",
            "tables",
            "lifecycles",
            "capability_bindings",
            "schemas",
            "reason_codes",
            "reason_code_roles",
            "tool_path",
            "audit_event_types",
        }
    ),
}


COMPANION_HEADER_KEYS = frozenset(
    {"kind", "engine_id", "purpose", "version", "status", "reason_code_input"}
)
REASON_CODE_INPUTS = ("STRING", "ENUM")
"""How a wiring types its engine's `reason_code` inputs: any string the field dictionary
admits, or a member of the engine's ReasonCode enum."""


@dataclass(frozen=True, slots=True)
class Companion:
    syntax: CompanionSyntax
    engine_id: str | None
    sections: tuple[CompanionSection, ...]
    enum_reason_codes: bool = False
    """The wiring says `reason_code_input`: `ENUM`."""


def read_companion(syntax: CompanionSyntax, diagnostics: Diagnostics) -> Companion:
    header = keyed(syntax.header, COMPANION_HEADER_KEYS, "spec header", diagnostics)
    kind_bullet = header.get("kind")
    kind = value_text(kind_bullet)
    if kind_bullet is None:
        diagnostics.report(
            Code.MISSING_KEY,
            syntax.header_span,
            "spec header has no 'kind'",
            f"kinds: {', '.join(sorted(SECTIONS_BY_KIND))}",
        )
    elif kind not in SECTIONS_BY_KIND:
        diagnostics.report(
            Code.UNKNOWN_COMPANION_KIND,
            kind_bullet.value.span if kind_bullet.value else kind_bullet.span,
            f"unknown companion kind {kind!r}",
            f"kinds: {', '.join(sorted(SECTIONS_BY_KIND))}",
        )
    engine_id: str | None = None
    if kind == "ENGINE_WIRING":
        engine_bullet = header.get("engine_id")
        if engine_bullet is None or engine_bullet.value is None:
            diagnostics.report(
                Code.MISSING_KEY, syntax.header_span, "wiring spec header has no 'engine_id'"
            )
        elif not ENGINE_ID.fullmatch(engine_bullet.value.text):
            diagnostics.report(
                Code.MALFORMED_VALUE,
                engine_bullet.value.span,
                f"engine_id {engine_bullet.value.text!r} is malformed",
            )
        else:
            engine_id = engine_bullet.value.text
    typed = _reason_code_input(header.get("reason_code_input"), kind, diagnostics)
    allowed = SECTIONS_BY_KIND.get(kind, frozenset())
    kept = []
    for section in syntax.sections:
        if section.kind in allowed:
            kept.append(section)
        elif kind in SECTIONS_BY_KIND:
            diagnostics.report(
                Code.MISPLACED_SECTION,
                section.title.span,
                f"{section.title.text!r} does not belong in a {kind} spec; kept as a note",
            )
    return Companion(syntax, engine_id, tuple(kept), typed)


def _reason_code_input(bullet: Bullet | None, kind: str, diagnostics: Diagnostics) -> bool:
    if bullet is None:
        return False
    value = value_text(bullet)
    if kind != "ENGINE_WIRING" or value not in REASON_CODE_INPUTS:
        diagnostics.report(
            Code.MALFORMED_VALUE,
            bullet.value.span if bullet.value else bullet.span,
            f"reason_code_input {value!r}: a wiring spec's is one of "
            f"{', '.join(REASON_CODE_INPUTS)}",
        )
        return False
    return value == "ENUM"
