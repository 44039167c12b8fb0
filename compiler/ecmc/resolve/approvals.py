"""`approved_changes` in an engine header: the breaking or security-relevant changes its
owners let `ecmc diff` pass, each with the rule, the subject and why, reviewed like code:

    - `approved_changes`:
      - `ECMD001` `PH1D_OLD_CAP`: callers moved to PH1D_NEW_CAP (ticket 4711)
"""

from __future__ import annotations

import re

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Bullet
from ecmc.ir import Approval

_RULE = re.compile(r"ECMD[0-9]{3}")


def approvals(bullet: Bullet | None, diagnostics: Diagnostics) -> tuple[Approval, ...]:
    if bullet is None:
        return ()
    found = []
    for child in bullet.children:
        codes = [c.text for c in child.codes] or ([child.key.text] if child.key else [])
        reason = child.text.text.rpartition("`")[2].lstrip(":").strip()
        if len(codes) < 2 or not _RULE.fullmatch(codes[0]) or not reason:
            diagnostics.report(
                Code.MALFORMED_VALUE,
                child.span,
                "an approved change reads '`ECMDxxx` `SUBJECT`: why'",
                "the rule code and the subject as `ecmc diff` names them, then the reason",
            )
            continue
        found.append(Approval(codes[0], codes[1], reason, child.span))
    if not bullet.children:
        diagnostics.report(Code.MALFORMED_VALUE, bullet.span, "approved_changes lists no change")
    return tuple(found)
