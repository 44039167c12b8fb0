"""Prose never decides run-time behaviour: where a meaning is read from words, it is reported
(ECM067), and the runtime keeps to the wiring's explicit keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from ecm_runtime import Runtime

from conftest import SPECS, make_project
from ecmc.commands.build import build
from ecmc.config import load_config

BULLET = "- `ART_APPEND_ARTIFACT_LEDGER_ROW` and `ART_UPSERT_TOOL_CACHE_ROW` must emit PH1.J"
ROW = dict(
    now=1,
    scope_type="TENANT",
    scope_id="t",
    artifact_type="package",
    artifact_version=1,
    package_hash="p",
    payload_ref="r",
    created_by="b",
    provenance_ref="v",
    status="ACTIVE",
    idempotency_key="k",
)


def test_words_in_an_audit_bullet_are_reported_and_change_nothing(
    tmp_path: Path, import_generated: Callable[[Path, str], ModuleType]
) -> None:
    ecm = (SPECS / "ecm" / "ARTIFACTS_LEDGER_TABLES.md").read_text()
    assert BULLET in ecm
    reworded = ecm.replace(BULLET, BULLET + " (idempotent replays included)")
    root = make_project(tmp_path / "p", "prose_ecm", {"ecm/ARTIFACTS_LEDGER_TABLES.md": reworded})
    project, report = build(load_config(root))
    assert report is not None
    readings = [
        d
        for d in (*project.result.diagnostics, *project.result.suppressed)
        if d.code == "ECM067" and d.span.path == "specs/ecm/ARTIFACTS_LEDGER_TABLES.md"
    ]
    assert [d.message for d in readings] == [
        "audit requirement read as 'replay_only' from the words 'replay'",
        "audit requirement read as 'replay_only' from the words 'only in'",
    ]
    import_generated(root, "prose_ecm")
    rt = Runtime.open(f"sqlite:///{tmp_path / 'p.sqlite3'}", package="prose_ecm")
    rt.invoke(rt.context(caller="SELENE_OS", tenant_id="t"), "ART_APPEND_ARTIFACT_LEDGER_ROW", ROW)
    with rt.engine.connect() as connection:
        audit = rt.metadata.tables["audit_events"]
        count = connection.execute(sa.select(sa.func.count()).select_from(audit)).scalar_one()
    rt.close()
    assert count == 1  # the binding names an event type: its audit row is written
