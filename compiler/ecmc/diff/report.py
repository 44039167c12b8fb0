"""Changes matched with the specs' approvals, then shown: as located diagnostics for people
(the new side's location, the old side's as a note) or as JSON for tools."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ecmc.diff.change import Change, new_change
from ecmc.ir import Approval, Program
from ecmc.registry import Impact


@dataclass(frozen=True, slots=True)
class Judged:
    change: Change
    approval: Approval | None

    @property
    def failing(self) -> bool:
        severity = self.change.rule.severity
        return severity is not Impact.SAFE and self.approval is None

    @property
    def level(self) -> str:
        if self.failing:
            return "error"
        return "note" if self.change.rule.severity is Impact.SAFE else "warning"


def judge(changes: list[Change], new: Program) -> list[Judged]:
    """Each change with the approval that lets it pass, then every approval that matched
    nothing (a warning: an approval outlives its change only by mistake)."""
    approvals = [a for engine in new.engines for a in engine.approvals]
    used: set[int] = set()
    judged = []
    for change in changes:
        match = next(
            (a for a in approvals if (a.rule, a.subject) == (change.rule.code, change.subject)),
            None,
        )
        if match is not None:
            used.add(id(match))
        judged.append(Judged(change, match))
    for approval in approvals:
        if id(approval) not in used:
            stale = new_change(
                "ECMD299",
                approval.subject,
                f"approval of {approval.rule} {approval.subject} matches no change",
                approval.span,
            )
            judged.append(Judged(stale, None))
    return judged


def render_human(judged: list[Judged], include_safe: bool = True) -> str:
    lines = []
    for item in judged:
        change = item.change
        if change.rule.code == "ECMD299":
            level = "warning"
        elif not include_safe and change.rule.severity is Impact.SAFE:
            continue
        else:
            level = item.level
        at = change.at
        lines.append(
            f"{at.path}:{at.line}:{at.col}: {level}[{change.rule.code}]: {change.message} "
            f"({change.rule.severity}: {change.rule.summary})"
        )
        if change.old_side:
            lines.append("  = note: shown where it stood in the old specs; it is gone")
        elif change.was is not None:
            lines.append(f"  = note: was at {change.was.path}:{change.was.line}")
        if item.approval is not None:
            lines.append(
                f"  = note: approved at {item.approval.span.path}:{item.approval.span.line}: "
                f"{item.approval.reason}"
            )
    return "\n".join(lines)


def render_json(judged: list[Judged]) -> str:
    return json.dumps(
        [
            {
                "rule": item.change.rule.code,
                "severity": str(item.change.rule.severity),
                "title": item.change.rule.summary,
                "subject": item.change.subject,
                "message": item.change.message,
                "path": item.change.at.path,
                "line": item.change.at.line,
                "col": item.change.at.col,
                "side": "old" if item.change.old_side else "new",
                "was": (
                    {"path": item.change.was.path, "line": item.change.was.line}
                    if item.change.was is not None
                    else None
                ),
                "approved": item.approval.reason if item.approval is not None else None,
                "failing": item.failing,
            }
            for item in judged
        ],
        indent=2,
        ensure_ascii=False,
    )
