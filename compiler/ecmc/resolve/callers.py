"""Caller classes and the `allowed_callers` policies that admit them."""

from __future__ import annotations

from collections.abc import Callable

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import names_in
from ecmc.frontend.syntax import CompanionSection
from ecmc.ir import CallerPolicy
from ecmc.resolve.companions import Companion
from ecmc.resolve.dictionary import report_unconfirmed
from ecmc.span import Span


def resolve_callers(
    sections: Callable[[str], list[tuple[Companion, CompanionSection]]],
    diagnostics: Diagnostics,
) -> tuple[list[str], dict[str, CallerPolicy]]:
    classes: dict[str, Span] = {}
    for _, section in sections("caller_classes"):
        for bullet in section.bullets:
            name = bullet.key or (bullet.codes[0] if bullet.codes else None)
            if name is None:
                diagnostics.report(
                    Code.UNREADABLE_LINE, bullet.span, "expected '`CALLER_CLASS`: description'"
                )
                continue
            if name.text in classes:
                diagnostics.report(
                    Code.BAD_CALLER_POLICY,
                    name.span,
                    f"caller class {name.text!r} is defined twice",
                )
                continue
            classes[name.text] = name.span
            description = bullet.text.text.partition(":")[2].strip()
            report_unconfirmed(description, name.span, f"caller class {name.text}", diagnostics)
    policies: dict[str, CallerPolicy] = {}
    for _, section in sections("caller_policies"):
        for bullet in section.bullets:
            if bullet.key is None:
                diagnostics.report(
                    Code.UNREADABLE_LINE, bullet.span, "expected '`POLICY`: `CALLER_CLASS`, ...'"
                )
                continue
            if bullet.key.text in policies:
                diagnostics.report(
                    Code.BAD_CALLER_POLICY,
                    bullet.key.span,
                    f"caller policy {bullet.key.text!r} is defined twice",
                )
                continue
            members = names_in(bullet)
            for member in members:
                if member.text not in classes:
                    diagnostics.report(
                        Code.BAD_CALLER_POLICY,
                        member.span,
                        f"policy {bullet.key.text} admits unknown caller class {member.text!r}",
                    )
            if not members:
                diagnostics.report(
                    Code.BAD_CALLER_POLICY,
                    bullet.span,
                    f"policy {bullet.key.text} admits no caller class",
                )
            policies[bullet.key.text] = CallerPolicy(
                bullet.key.text, tuple(m.text for m in members if m.text in classes), bullet.span
            )
    return sorted(classes), policies
