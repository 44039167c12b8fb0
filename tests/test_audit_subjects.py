"""An audit rule that speaks of capabilities by a phrase selects them the way a reader would:
'write'/'read' by side effects, other words by the capability's group heading, id or name,
'a/b', 'a or b', 'a and b' as either, 'operations' as well as 'capabilities', and words that
describe without naming anything left out of the selection.
"""

from __future__ import annotations

import pytest

from conftest import compile_with_project

CAPABILITY = """
### `{id}`
- `name`: {name}
- `input_schema`: `(tenant_id)`
- `output_schema`: `(reason_code)`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: {effects}
"""
WRITE = "`DECLARED (DB_WRITE)`"
READ = "`NONE`"
ENGINE = [
    ("Enrollment capabilities", "PH1SUBJ_ENROLL_START_ROW", "Start an enrollment draft", WRITE),
    ("Enrollment capabilities", "PH1SUBJ_ENROLL_READ", "Read the enrollment draft", READ),
    ("Runtime capabilities", "PH1SUBJ_RUNTIME_EVENT_COMMIT_ROW", "Commit a runtime event", WRITE),
    ("Runtime capabilities", "PH1SUBJ_APPEND_ONLY_GUARD", "Refuse overwrites", READ),
    ("Projections", "PH1SUBJ_REBUILD_CURRENT_ROWS", "Rebuild current rows", WRITE),
    ("Projections", "PH1SUBJ_READ_CURRENT", "Read current rows", READ),
]
PATH = "specs/ecm/PH1_SUBJ.md"


def selected(rule: str) -> tuple[dict[str, str], list[str]]:
    """Each capability's audit mode under one rule ('-' where the rule names it not)."""
    parts = ["# PH1.SUBJ ECM Spec\n\n## Engine Header\n- `engine_id`: `PH1.SUBJ`\n"]
    parts.append("- `purpose`: subjects\n- `data_owned`: none\n- `version`: `v1`\n")
    parts.append("- `status`: `ACTIVE`\n\n## Capability List\n")
    group = None
    for heading, cap_id, name, effects in ENGINE:
        if heading != group:
            parts.append(f"\n### {heading}\n")
            group = heading
        parts.append(
            CAPABILITY.format(id=cap_id, name=name, effects=effects).replace("###", "####")
        )
    parts.append("\n## Failure Modes + Reason Codes\n- contract: `SUBJ_CONTRACT_FAILED`\n")
    parts.append(f"\n## Audit Emission Requirements Per Capability\n- {rule}\n")
    result = compile_with_project({PATH: "".join(parts)})
    engine = next(e for e in result.program.engines if e.engine_id == "PH1.SUBJ")
    modes = {
        cap.id.removeprefix("PH1SUBJ_"): (cap.audit[0].mode if cap.audit else "-")
        for cap in engine.capabilities
    }
    return modes, [d.code for d in result.diagnostics if d.span.path == PATH]


def chosen(rule: str) -> set[str]:
    return {cap for cap, mode in selected(rule)[0].items() if mode != "-"}


WRITES = {"ENROLL_START_ROW", "RUNTIME_EVENT_COMMIT_ROW", "REBUILD_CURRENT_ROWS"}
READS = {"ENROLL_READ", "APPEND_ONLY_GUARD", "READ_CURRENT"}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("write capabilities must emit PH1.J events.", WRITES),
        ("every write capability must emit PH1.J with a reason code.", WRITES),
        ("state-changing operations must emit PH1.J rows.", WRITES),
        ("deterministic write capabilities must emit PH1.J rows.", WRITES),
        ("Read capabilities emit audit only in replay/diagnostic mode.", READS),
        ("guard/read-only capabilities emit audit only in replay mode.", READS),
        ("Read/guard capabilities emit audit only in replay mode.", READS),
        (
            "Enrollment/runtime write capabilities must emit PH1.J events:",
            {"ENROLL_START_ROW", "RUNTIME_EVENT_COMMIT_ROW"},
        ),
        (
            "Enrollment or runtime write capabilities must emit PH1.J events:",
            {"ENROLL_START_ROW", "RUNTIME_EVENT_COMMIT_ROW"},
        ),
        (
            "Reads/rebuild operations should emit audit only when run as replay operations.",
            {"REBUILD_CURRENT_ROWS", *READS},
        ),
        ("projection write capabilities emit audit in replay mode.", {"REBUILD_CURRENT_ROWS"}),
        ("enrollment capabilities must emit PH1.J rows.", {"ENROLL_START_ROW", "ENROLL_READ"}),
        (
            "rebuild and guard operations emit audit only in replay mode.",
            {"REBUILD_CURRENT_ROWS", "APPEND_ONLY_GUARD"},
        ),
    ],
)
def test_a_phrase_selects_what_a_reader_would(rule: str, expected: set[str]) -> None:
    assert chosen(rule) == expected


def test_the_mode_is_the_rules_for_each_capability_it_selects() -> None:
    modes, _ = selected("Reads/rebuild operations should emit audit only in replay mode.")
    assert modes["REBUILD_CURRENT_ROWS"] == "replay_only" and modes["ENROLL_START_ROW"] == "-"


@pytest.mark.parametrize(
    "rule",
    ["sync failures must emit degraded reason codes.", "wibble capabilities must emit PH1.J."],
)
def test_a_phrase_that_names_no_capability_selects_none_and_says_so(rule: str) -> None:
    modes, found = selected(rule)
    assert set(modes.values()) == {"-"}
    assert "ECM039" in found


def test_all_capabilities_is_every_one() -> None:
    modes, _ = selected("all capabilities must emit PH1.J rows.")
    assert set(modes.values()) == {"required"}
