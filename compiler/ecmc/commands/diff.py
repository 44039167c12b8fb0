"""`ecmc diff [BASE]`: the specs at BASE against the working tree, every change classified,
exit 1 on an unapproved breaking or security-relevant change."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ecmc.commands.build import compile_project
from ecmc.config import Config
from ecmc.diff.compare import compare
from ecmc.diff.report import Judged, judge
from ecmc.diff.sources import default_base, load_base
from ecmc.pipeline import FrontendResult


@dataclass(frozen=True, slots=True)
class DiffReport:
    base: str
    old: FrontendResult
    new: FrontendResult
    judged: list[Judged]

    @property
    def failing(self) -> bool:
        return any(item.failing for item in self.judged)

    def summary(self) -> str:
        counts = Counter(str(item.change.rule.severity) for item in self.judged)
        approved = sum(1 for item in self.judged if item.approval is not None)
        return (
            f"ecmc diff against {self.base}: {counts['breaking']} breaking, "
            f"{counts['security']} security-relevant ({approved} approved), {counts['safe']} safe"
        )


def run_diff(config: Config, base: str | None) -> DiffReport:
    """Raises BaseError when the base cannot be read."""
    new = compile_project(config).result
    base = base or default_base(config.root)
    old = load_base(base, config)
    return DiffReport(base, old, new, judge(compare(old.program, new.program), new.program))
