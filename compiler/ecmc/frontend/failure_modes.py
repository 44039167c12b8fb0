"""Reason codes in an ECM spec's failure-modes lists, in any of the shapes real files use:
`CODE`, `description: CODE`, `CODE: description`, nested lists, `A | B` banded outcomes."""

from __future__ import annotations

import re

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Bullet, ReasonCodeSyntax, Text

REASON_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def declared_codes(
    bullets: tuple[Bullet, ...], context: str, diagnostics: Diagnostics
) -> list[ReasonCodeSyntax]:
    """Reason codes in a failure-modes list, in any of the shapes ECM files use."""
    found: list[ReasonCodeSyntax] = []
    for bullet in bullets:
        plain = bullet.text.text.strip()
        description = bullet.key.text if bullet.key is not None else context
        declared: list[Text] = []
        if REASON_CODE.fullmatch(plain):
            declared.append(bullet.text)
        elif bullet.key is not None and bullet.value is not None and len(bullet.codes) == 1:
            declared.append(bullet.value)
        elif bullet.key is not None and bullet.value is not None and not bullet.codes:
            # `failure description: CODE` written without backticks
            if REASON_CODE.fullmatch(bullet.value.text):
                declared.append(bullet.value)
        elif len(bullet.codes) == 1 and (
            plain == f"`{bullet.codes[0].text}`" or plain.endswith(f": `{bullet.codes[0].text}`")
        ):
            # `CODE` alone, or `some failure description: CODE`: a declaration, checked below
            declared.append(bullet.codes[0])
        else:
            declared.extend(c for c in bullet.codes if REASON_CODE.fullmatch(c.text))
        if bullet.key is None and not REASON_CODE.fullmatch(plain):
            description = plain.rstrip(":").strip() if bullet.children else context
        for code in [part for text in declared for part in _alternatives(text)]:
            if not REASON_CODE.fullmatch(code.text):
                diagnostics.report(
                    Code.REASON_CODE_CASE,
                    code.span,
                    f"reason code {code.text!r} is not UPPER_SNAKE_CASE",
                    "reason codes look like 'ENGINE_FAIL_SOMETHING'",
                )
                continue
            found.append(ReasonCodeSyntax(code, description))
        found.extend(declared_codes(bullet.children, description, diagnostics))
    return found


def _alternatives(code: Text) -> list[Text]:
    """`A | B | C` in one code span declares three codes (a banded outcome), each located."""
    parts = code.text.split("|")
    if len(parts) == 1:
        return [code]
    found, offset = [], 0
    for part in parts:
        name = part.strip()
        start = offset + part.index(name) if name else offset
        found.append(Text(name, code.span.narrow(start, len(name))))
        offset += len(part) + 1
    return found
