"""A capability's `side_effects`: `NONE`, or `DECLARED (EFFECT + EFFECT ...)` of known effects."""

from __future__ import annotations

import re

from ecm_contract import Effect
from ecm_contract import SideEffects as Effects

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Bullet
from ecmc.ir import SideEffects

EFFECTS = frozenset(Effect)
_SIDE_EFFECTS = re.compile(r"DECLARED\s*\((?P<effects>[^()]*)\)")


def side_effects(bullet: Bullet | None, diagnostics: Diagnostics) -> SideEffects | None:
    if bullet is None:
        return None
    if bullet.value is None:
        diagnostics.report(Code.BAD_SIDE_EFFECTS, bullet.span, "side_effects has no value")
        return None
    text = bullet.value.text.strip()
    if text == Effects.NONE:
        return SideEffects(Effects.NONE, ())
    match = _SIDE_EFFECTS.fullmatch(text)
    if match is None:
        diagnostics.report(
            Code.BAD_SIDE_EFFECTS,
            bullet.value.span,
            f"side_effects {text!r} is malformed",
            "expected NONE or DECLARED (EFFECT + EFFECT ...)",
        )
        return None
    effects = tuple(e.strip() for e in re.split(r"[+,]", match.group("effects")))
    for effect in effects:
        if effect not in EFFECTS:
            offset = max(text.find(effect), 0) if effect else 0
            diagnostics.report(
                Code.BAD_SIDE_EFFECTS,
                bullet.value.span.narrow(offset, len(effect)),
                f"unknown side effect {effect!r}",
                f"known effects: {', '.join(sorted(EFFECTS))}",
            )
            return None
    return SideEffects(Effects.DECLARED, effects)
