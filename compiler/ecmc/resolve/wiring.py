"""What else a wiring spec declares: reason codes, their roles, the tool path."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ecm_contract import TOOL_FIELD_KEYS, Operation, Role, ToolFields
from ecm_contract.invariants import present

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.failure_modes import REASON_CODE
from ecmc.frontend.keys import keyed, value_text
from ecmc.frontend.syntax import Bullet, CompanionSection, Text
from ecmc.ir import Engine, ReasonCode, ReasonCodeRole, ToolPath
from ecmc.resolve.companions import Companion
from ecmc.resolve.dictionary import report_unconfirmed
from ecmc.span import Span

TOOL_PATH_KEYS = frozenset(
    {
        "cache_read",
        "cache_write",
        "ok_commit",
        "fail_commit",
        "cache_ttl_ms",
        "reason_code",
        "description",
    }
    | set(TOOL_FIELD_KEYS)
)


TOOL_NAME = re.compile(r"[a-z][a-z0-9_]*")
ROLES = frozenset(role.value for role in Role)


def referenced_code(bullet: Bullet, declared: set[str], diagnostics: Diagnostics) -> None:
    value = present(bullet.value, "a reason code's value")
    code = value.text
    if not REASON_CODE.fullmatch(code):
        diagnostics.report(
            Code.REASON_CODE_CASE,
            value.span,
            f"reason code {code!r} is not UPPER_SNAKE_CASE",
        )
    elif code not in declared:
        diagnostics.report(
            Code.UNDECLARED_REASON_CODE,
            value.span,
            f"reason code {code} is referenced but no ECM spec declares it",
        )


def resolve_tool_path(
    engine_id: str,
    section: CompanionSection,
    engines: Mapping[str, Engine],
    declared_codes: set[str],
    diagnostics: Diagnostics,
) -> ToolPath:
    """The capabilities a tool query runs through: cache read and write, ok and fail rows."""
    keys = keyed(section.bullets, TOOL_PATH_KEYS, "tool path", diagnostics)
    if "description" in keys:
        said = value_text(keys["description"])
        report_unconfirmed(said, keys["description"].span, "the tool path", diagnostics)
    known = {c.id for e in engines.values() for c in e.capabilities}
    chosen: dict[str, str] = {}
    for key in ("cache_read", "cache_write", "ok_commit", "fail_commit"):
        value = value_text(keys.get(key))
        if not value:
            diagnostics.report(Code.MISSING_KEY, section.title.span, f"tool path needs '{key}'")
        elif value not in known:
            bullet = keys[key]
            diagnostics.report(
                Code.UNKNOWN_CAPABILITY,
                bullet.value.span if bullet.value else bullet.span,
                f"tool path {key} names {value}, which no ECM spec declares",
            )
        chosen[key] = value
    ttl = value_text(keys.get("cache_ttl_ms"))
    if not ttl.isdigit():
        diagnostics.report(
            Code.MALFORMED_VALUE,
            section.title.span,
            "tool path needs 'cache_ttl_ms' as a whole number",
        )
    reason = value_text(keys.get("reason_code"))
    if reason and reason not in declared_codes:
        bullet = keys["reason_code"]
        diagnostics.report(
            Code.UNDECLARED_REASON_CODE,
            bullet.value.span if bullet.value else bullet.span,
            f"reason code {reason} is referenced but no spec declares it",
        )
    named = {key.removesuffix("_field"): keys[key] for key in TOOL_FIELD_KEYS if key in keys}
    return ToolPath(
        engine_id,
        chosen["cache_read"],
        chosen["cache_write"],
        chosen["ok_commit"],
        chosen["fail_commit"],
        int(ttl) if ttl.isdigit() else 0,
        reason or None,
        section.title.span,
        ToolFields(**{name: value_text(bullet) for name, bullet in named.items()}),
        tuple((name, _value_span(bullet)) for name, bullet in sorted(named.items())),
    )


def _value_span(bullet: Bullet) -> Span:
    return bullet.value.span if bullet.value else bullet.span


def resolve_wiring_reason_codes(
    sections: list[tuple[Companion, CompanionSection]], diagnostics: Diagnostics
) -> list[tuple[str, ReasonCode]]:
    """Reason codes a wiring spec adds for its engine: `` `CODE`: what it means ``."""
    codes = []
    for companion, section in sections:
        for bullet in section.bullets:
            if bullet.key is None:
                diagnostics.report(
                    Code.UNREADABLE_LINE, bullet.span, "expected '`REASON_CODE`: meaning'"
                )
                continue
            if not REASON_CODE.fullmatch(bullet.key.text):
                diagnostics.report(
                    Code.REASON_CODE_CASE,
                    bullet.key.span,
                    f"reason code {bullet.key.text!r} is not UPPER_SNAKE_CASE",
                )
                continue
            description = bullet.text.text.partition(":")[2].strip()
            report_unconfirmed(
                description, bullet.span, f"reason code {bullet.key.text}", diagnostics
            )
            codes.append(
                (
                    companion.engine_id or "",
                    ReasonCode(bullet.key.text, description, bullet.key.span),
                )
            )
    return codes


def resolve_reason_code_roles(
    sections: list[tuple[Companion, CompanionSection]],
    declared: set[str],
    diagnostics: Diagnostics,
) -> list[ReasonCodeRole]:
    roles: dict[tuple[str, str], ReasonCodeRole] = {}
    for companion, section in sections:
        for bullet in section.bullets:
            if bullet.key is None or bullet.value is None:
                diagnostics.report(
                    Code.UNREADABLE_LINE, bullet.span, "expected '`role`: `REASON_CODE`'"
                )
                continue

            if bullet.key.text not in ROLES:
                diagnostics.report(
                    Code.UNKNOWN_ROLE,
                    bullet.key.span,
                    f"unknown reason-code role {bullet.key.text!r}",
                    f"roles: {', '.join(sorted(ROLES))}",
                )
                continue
            referenced_code(bullet, declared, diagnostics)
            said = bullet.text.text.rpartition("`")[2].strip(" —-()")
            report_unconfirmed(
                said, bullet.span, f"reason-code role {bullet.key.text}", diagnostics
            )
            seen = roles.get((companion.engine_id or "", bullet.key.text))
            if seen is not None:
                diagnostics.report(
                    Code.DUPLICATE_KEY,
                    bullet.key.span,
                    f"reason-code role {bullet.key.text!r} is given twice",
                    f"first at {seen.span}",
                )
                continue
            role = ReasonCodeRole(
                companion.engine_id or "", bullet.key.text, bullet.value.text, bullet.span
            )
            roles[(role.engine_id, role.role)] = role
    return list(roles.values())


def tool_name(
    operation: Operation, bullet: Bullet | None, heading: Text, diagnostics: Diagnostics
) -> str | None:
    """A tool query's `tool_name`, which must be snake_case."""
    name = value_text(bullet) or None
    if operation is Operation.TOOL_QUERY and (name is None or not TOOL_NAME.fullmatch(name)):
        diagnostics.report(
            Code.BAD_BINDING,
            bullet.value.span
            if bullet and bullet.value
            else (bullet.span if bullet else heading.span),
            f"{heading.text}: a tool_query needs a snake_case 'tool_name'",
        )
    return name
