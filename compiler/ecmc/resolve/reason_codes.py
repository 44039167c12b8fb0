"""The reason codes an ECM spec declares: in its failure-modes sections, in any of the shapes
real files use, and in capabilities' own `reason_codes` lists."""

from __future__ import annotations

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.failure_modes import REASON_CODE
from ecmc.frontend.keys import names_in
from ecmc.frontend.syntax import Bullet, EngineSyntax, Text
from ecmc.ir import ReasonCode


def engine_reason_codes(syntax: EngineSyntax, diagnostics: Diagnostics) -> dict[str, ReasonCode]:
    """Codes the failure-modes sections declare, then codes capabilities list of their own."""
    reason_codes: dict[str, ReasonCode] = {}
    for declared in syntax.reason_codes:
        _add_reason_code(reason_codes, declared.code, declared.description)
    for cap_syntax in syntax.capabilities:
        listed = cap_syntax.get("reason_codes")
        if listed is not None:
            for code in reason_code_list(listed, diagnostics):
                if code.text not in reason_codes:
                    reason_codes[code.text] = ReasonCode(code.text, cap_syntax.id.text, code.span)
    return reason_codes


def _add_reason_code(table: dict[str, ReasonCode], code: Text, description: str) -> None:
    """One code may name several failure modes of its engine (real files do): it is declared
    where it first appears, with every mode's description."""
    first = table.get(code.text)
    if first is None:
        table[code.text] = ReasonCode(code.text, description, code.span)
    elif description and description not in first.description.split("; "):
        joined = f"{first.description}; {description}" if first.description else description
        table[code.text] = ReasonCode(code.text, joined, first.span)


def reason_code_list(bullet: Bullet, diagnostics: Diagnostics) -> list[Text]:
    found: list[Text] = list(names_in(bullet)) if bullet.value is not None else []
    for child in bullet.children:
        found.extend(child.codes or (child.text,))
    checked = []
    for code in found:
        if REASON_CODE.fullmatch(code.text):
            checked.append(code)
        else:
            diagnostics.report(
                Code.REASON_CODE_CASE,
                code.span,
                f"reason code {code.text!r} is not UPPER_SNAKE_CASE",
            )
    return checked
