"""Names the runtime relies on are declared by the specs and checked by the compiler: renaming
one is a located compile error, or works when the specs say so (ecm_contract, ECM070)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from ecm_runtime import Runtime

from conftest import SPECS, make_project
from ecmc.commands.build import build
from ecmc.config import load_config

DECLARED = "- `payload_field`: `result_payload`"


def renamed(old: str, new: str, *, keep: str = "") -> dict[str, str]:
    """Every project spec with `old` renamed to `new`, except the line `keep`."""
    out = {}
    for path in SPECS.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        lines = [line if line == keep else line.replace(old, new) for line in text.split("\n")]
        if "\n".join(lines) != text:
            out[str(path.relative_to(SPECS))] = "\n".join(lines)
    return out


def errors(root: Path) -> list[tuple[str, str, int, str]]:
    project, _ = build(load_config(root))
    return [
        (d.code, d.span.path, d.span.line, d.message)
        for d in project.result.diagnostics
        if d.severity == "error"
    ]


def test_renaming_the_cache_payload_column_is_a_located_error(tmp_path: Path) -> None:
    specs = renamed("result_payload", "answer_payload", keep=DECLARED)
    root = make_project(tmp_path / "p", "renamed_ecm", specs)
    line = (SPECS / "wiring" / "PH1_E.md").read_text().split("\n").index(DECLARED) + 1
    assert errors(root) == [
        (
            "ECM070",
            "specs/wiring/PH1_E.md",
            line,
            "tool path: cache table tool_cache has no column 'result_payload', where the runtime "
            "keeps the cached answer's payload",
        ),
        (
            "ECM070",
            "specs/wiring/PH1_E.md",
            line,
            "tool path: cache_write ART_UPSERT_TOOL_CACHE_ROW has no input field "
            "'result_payload', which the runtime fills",
        ),
    ]


def test_a_rename_the_tool_path_declares_keeps_working(
    tmp_path: Path, import_generated: Callable[[Path, str], ModuleType]
) -> None:
    root = make_project(tmp_path / "p", "renamed_ok_ecm", renamed("result_payload", "answer"))
    assert errors(root) == []
    import_generated(root, "renamed_ok_ecm")
    rt = Runtime.open(f"sqlite:///{tmp_path / 'p.sqlite3'}", package="renamed_ok_ecm")
    ctx = rt.context(caller="SELENE_OS", tenant_id="t")
    query = {"tenant_id": "t", "correlation_id": 1, "turn_id": 1, "user_id": "u"}
    query.update(device_id="d", query="what time is it in Tokyo")
    first = rt.invoke(ctx, "PH1E_TOOL_TIME_QUERY", {**query, "idempotency_key": "a"})
    second = rt.invoke(ctx, "PH1E_TOOL_TIME_QUERY", {**query, "idempotency_key": "b"})
    assert first == second
    cache, audit = rt.metadata.tables["tool_cache"], rt.metadata.tables["audit_events"]
    with rt.engine.connect() as connection:
        (stored,) = connection.execute(sa.select(cache.c.answer)).scalars()
        statuses = connection.execute(
            sa.select(audit.c.payload_min)
            .where(audit.c.event_type == "ToolOk")
            .order_by(audit.c.event_id)
        ).scalars()
        assert [p["cache_status"] for p in statuses] == ["MISS", "HIT"]
    rt.close()
    assert "Asia/Tokyo" in stored["answer_text"]


def test_renaming_an_audit_envelope_column_is_a_located_error(tmp_path: Path) -> None:
    wiring = (SPECS / "wiring" / "PH1_J.md").read_text()
    columns = next(line for line in wiring.split("\n") if "payload_min" in line)
    specs = {"wiring/PH1_J.md": wiring.replace(columns, columns.replace("payload_min", "body"))}
    root = make_project(tmp_path / "p", "envelope_ecm", specs)
    found = [e for e in errors(root) if e[0] == "ECM070"]
    assert [(path, message) for _, path, _, message in found] == [
        (
            "specs/wiring/PH1_J.md",
            "audit log audit_events lacks the audit envelope's payload_min",
        )
    ]
