"""Semantic rules over the whole program: what no single spec can see on its own."""

from __future__ import annotations

from ecmc.check.contract import check_runtime_contract
from ecmc.check.lifecycles import check_lifecycle_mapping
from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.ir import Program
from ecmc.lower.catalog import lower
from ecmc.span import Span


def run_checks(program: Program, diagnostics: Diagnostics) -> None:
    _unique_engines(program, diagnostics)
    _unique_capabilities(program, diagnostics)
    _unique_reason_codes(program, diagnostics)
    _writes_are_audited(program, diagnostics)
    _owned_tables_exist(program, diagnostics)
    _enum_reason_codes_exist(program, diagnostics)
    _unbound_handlers_that_must_audit(program, diagnostics)
    check_lifecycle_mapping(program, diagnostics)
    check_runtime_contract(program, lower(program), diagnostics)


def _unique_engines(program: Program, diagnostics: Diagnostics) -> None:
    seen: dict[str, Span] = {}
    for engine in program.engines:
        if not engine.engine_id:
            continue
        if engine.engine_id in seen:
            diagnostics.report(
                Code.DUPLICATE_ENGINE,
                engine.span,
                f"engine {engine.engine_id} is declared twice",
                f"first at {seen[engine.engine_id]}",
            )
        else:
            seen[engine.engine_id] = engine.span


def _unique_capabilities(program: Program, diagnostics: Diagnostics) -> None:
    seen: dict[str, tuple[str, Span]] = {}
    for engine in program.engines:
        for cap in engine.capabilities:
            if cap.id in seen:
                owner, span = seen[cap.id]
                diagnostics.report(
                    Code.DUPLICATE_CAPABILITY,
                    cap.span,
                    f"capability {cap.id} is already declared by {owner}",
                    f"first at {span}",
                )
            else:
                seen[cap.id] = (engine.engine_id, cap.span)


def _unique_reason_codes(program: Program, diagnostics: Diagnostics) -> None:
    """A code means one thing: declared once, by one engine (its ECM spec or its wiring)."""
    seen: dict[str, tuple[str, Span]] = {}
    declared = [(e.engine_id, code) for e in program.engines for code in e.reason_codes]
    for engine_id, code in [*declared, *program.wiring_reason_codes]:
        if code.code in seen:
            owner, span = seen[code.code]
            diagnostics.report(
                Code.DUPLICATE_REASON_CODE,
                code.span,
                f"reason code {code.code} is already declared by {owner}",
                f"first at {span}",
            )
        else:
            seen[code.code] = (engine_id, code.span)


def _writes_are_audited(program: Program, diagnostics: Diagnostics) -> None:
    unaudited = {b.capability_id for b in program.bindings if b.unaudited}
    for engine in program.engines:
        for cap in engine.capabilities:
            if not cap.writes or cap.id in unaudited:
                continue
            if not cap.audit_asked:
                diagnostics.report(
                    Code.UNAUDITED_WRITE,
                    cap.span,
                    f"write capability {cap.id} has no audit emission requirement",
                    "say in 'Audit Emission Requirements' which audit events it emits, or "
                    "bind it with `event_type`: `NONE` in its wiring",
                )


def _owned_tables_exist(program: Program, diagnostics: Diagnostics) -> None:
    tables = {table.name for table in program.tables}
    for engine in program.engines:
        for owned in engine.data_owned:
            if owned.table not in tables:
                diagnostics.report(
                    Code.UNDEFINED_OWNED_TABLE,
                    owned.span,
                    f"data_owned table {owned.table!r} has no table definition in any wiring spec",
                )


def _enum_reason_codes_exist(program: Program, diagnostics: Diagnostics) -> None:
    """An engine whose reason_code inputs take its enum declares codes for the enum."""
    wiring = {engine_id for engine_id, _ in program.wiring_reason_codes}
    declared = {e.engine_id for e in program.engines if e.reason_codes} | wiring
    for engine_id, span in program.enum_reason_codes:
        if engine_id not in declared:
            diagnostics.report(
                Code.MALFORMED_VALUE,
                span,
                f"{engine_id}: reason_code_input ENUM, but the engine declares no reason codes",
            )


def _unbound_handlers_that_must_audit(program: Program, diagnostics: Diagnostics) -> None:
    """A capability with no binding is a handler; the runtime audits only what a binding's
    event_type names, so a writing handler whose spec requires audit is reported."""
    bound = {b.capability_id for b in program.bindings}
    for engine in program.engines:
        for cap in engine.capabilities:
            if cap.id not in bound and cap.writes and cap.requires_audit:
                diagnostics.report(
                    Code.UNAUDITED_HANDLER,
                    cap.span,
                    f"{cap.id} is a handler (no binding) that must emit audit; its calls write "
                    "no audit row until a binding names its event_type",
                    "bind it: `operation`: `handler`, `event_type`: ...",
                )
