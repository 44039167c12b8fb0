"""Companion specs: the header, the engine a wiring spec wires, its sections by kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import keyed, value_text
from ecmc.frontend.syntax import CompanionSection, CompanionSyntax
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
            "reason_codes",
            "reason_code_roles",
            "tool_path",
            "audit_event_types",
        }
    ),
}


COMPANION_HEADER_KEYS = frozenset({"kind", "engine_id", "purpose", "version", "status"})


@dataclass(frozen=True, slots=True)
class Companion:
    syntax: CompanionSyntax
    engine_id: str | None
    sections: tuple[CompanionSection, ...]


def read_companion(syntax: CompanionSyntax, diagnostics: Diagnostics) -> Companion:
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
    return Companion(syntax, engine_id, tuple(kept))
