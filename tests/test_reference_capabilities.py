"""Every capability of every real ECM file is found, wherever it stands: the expected ids were
written by reading the files (../shared/reference), not taken from ecmc's own output."""

from __future__ import annotations

import pytest

from conftest import REFERENCE
from ecmc.pipeline import compile_paths, compile_texts

EXPECTED: dict[str, list[str]] = {
    "ECM_PH1_J.md": [
        "PH1J_APPEND_AUDIT_ROW",
        "PH1J_AUDIT_ROWS_BY_CORRELATION",
        "PH1J_AUDIT_ROWS_BY_TENANT",
    ],
    "ECM_PH1_REM.md": [
        "PH1REM_SCHEDULE_COMMIT_ROW",
        "PH1REM_UPDATE_COMMIT_ROW",
        "PH1REM_CANCEL_COMMIT_ROW",
        "PH1REM_SNOOZE_COMMIT_ROW",
        "PH1REM_FOLLOWUP_SCHEDULE_COMMIT_ROW",
        "PH1REM_DELIVERY_RETRY_SCHEDULE_COMMIT_ROW",
        "PH1REM_DELIVER_PRE_COMMIT_ROW",
        "PH1REM_DELIVER_DUE_COMMIT_ROW",
        "PH1REM_ESCALATE_COMMIT_ROW",
        "PH1REM_MARK_COMPLETED_COMMIT_ROW",
        "PH1REM_MARK_FAILED_COMMIT_ROW",
    ],
    "ECM_PH1_WORK.md": ["WORK_POLICY_EVALUATE", "WORK_DECISION_COMPUTE"],
    "adoption/ECM/PH1_C.md": [
        "PH1C_TRANSCRIPT_OK_COMMIT_ROW",
        "PH1C_TRANSCRIPT_REJECT_COMMIT_ROW",
        "PH1C_READ_VOICE_TRANSCRIPT_ROWS",
    ],
    "adoption/ECM/PH1_K.md": [
        "PH1K_RUNTIME_EVENT_COMMIT_ROW",
        "PH1K_RUNTIME_EVENT_COMMIT_ROW_EXTENDED",
        "PH1K_VAD_MARKER_COMMIT_ROW",
        "PH1K_READ_RUNTIME_EVENT_ROWS",
        "PH1K_READ_RUNTIME_CURRENT_ROWS",
        "PH1K_READ_RUNTIME_CURRENT_ROW",
        "PH1K_REBUILD_RUNTIME_CURRENT_ROWS",
        "PH1K_APPEND_ONLY_GUARD",
    ],
    "adoption/ECM/PH1_L.md": [
        "PH1L_UPSERT_SESSION_LIFECYCLE_ROW",
        "PH1L_READ_SESSION_ROW",
        "PH1L_READ_SESSION_ROWS",
    ],
    "adoption/ECM/PH1_LINK.md": [
        "PH1LINK_INVITE_GENERATE_DRAFT_ROW",
        "PH1LINK_INVITE_DRAFT_UPDATE_COMMIT_ROW",
        "PH1LINK_MARK_SENT_COMMIT_ROW",
        "PH1LINK_GET_LINK_ROW",
        "PH1LINK_INVITE_OPEN_ACTIVATE_COMMIT_ROW",
        "PH1LINK_INVITE_REVOKE_REVOKE_ROW",
        "PH1LINK_INVITE_EXPIRED_RECOVERY_COMMIT_ROW",
        "PH1LINK_INVITE_FORWARD_BLOCK_COMMIT_ROW",
    ],
    "adoption/ECM/PH1_NLP.md": [
        "PH1NLP_INTENT_DRAFT_COMMIT_ROW",
        "PH1NLP_CLARIFY_COMMIT_ROW",
        "PH1NLP_CHAT_COMMIT_ROW",
        "PH1NLP_READ_AUDIT_ROWS",
    ],
    "adoption/ECM/PH1_POSITION.md": [
        "PH1TENANT_COMPANY_UPSERT_ROW",
        "PH1TENANT_COMPANY_ROW",
        "PH1POSITION_CREATE_DRAFT_ROW",
        "PH1POSITION_VALIDATE_AUTH_COMPANY_DRAFT_ROW",
        "PH1POSITION_BAND_POLICY_CHECK_DRAFT_ROW",
        "PH1POSITION_ACTIVATE_COMMIT_ROW",
        "PH1POSITION_RETIRE_OR_SUSPEND_COMMIT_ROW",
        "PH1POSITION_REQUIREMENTS_SCHEMA_CREATE_DRAFT_ROW",
        "PH1POSITION_REQUIREMENTS_SCHEMA_UPDATE_COMMIT_ROW",
        "PH1POSITION_REQUIREMENTS_SCHEMA_ACTIVATE_COMMIT_ROW",
        "PH1POSITION_ROW",
        "PH1POSITION_LIFECYCLE_ROWS_FOR_POSITION",
        "PH1POSITION_APPEND_ONLY_GUARD",
    ],
    # The later `### \\`VID_ENROLL_COMPLETE_COMMIT_ROW\\` sync receipt output (implemented)`
    # heading refines the capability declared above it: one capability, not two.
    "adoption/ECM/PH1_VOICE_ID.md": [
        "VID_ASSERT_SPEAKER_DECISION",
        "VID_ENROLL_START_DRAFT_ROW",
        "VID_ENROLL_SAMPLE_COMMIT_ROW",
        "VID_ENROLL_COMPLETE_COMMIT_ROW",
        "VID_ENROLL_DEFER_COMMIT_ROW",
        "VID_READ_ENROLLMENT_STATE",
        "VID_APPEND_ONLY_GUARD",
    ],
    "adoption/ECM/PH1_W.md": [
        "PH1W_ENROLL_START_DRAFT_ROW",
        "PH1W_ENROLL_SAMPLE_COMMIT_ROW",
        "PH1W_ENROLL_COMPLETE_COMMIT_ROW",
        "PH1W_ENROLL_DEFER_COMMIT_ROW",
        "PH1W_RUNTIME_EVENT_COMMIT_ROW",
        "PH1W_READ_ENROLLMENT_SESSION_ROW",
        "PH1W_READ_ENROLLMENT_SAMPLE_ROWS",
        "PH1W_READ_RUNTIME_EVENT_ROWS",
        "PH1W_READ_ACTIVE_WAKE_PROFILE",
        "PH1W_APPEND_ONLY_GUARDS",
    ],
    "adoption/ECM/PH1_X.md": [
        "PH1X_CONFIRM_COMMIT_ROW",
        "PH1X_CLARIFY_COMMIT_ROW",
        "PH1X_RESPOND_COMMIT_ROW",
        "PH1X_TOOL_RESPONSE_RENDER",
        "PH1X_DISPATCH_COMMIT_ROW",
        "PH1X_WAIT_COMMIT_ROW",
        "PH1X_READ_AUDIT_ROWS",
    ],
    "adoption/ECM/SELENE_OS_CORE_TABLES.md": [
        "OS_WORK_ORDER_LEDGER_APPEND",
        "OS_WORK_ORDER_CURRENT_READ",
        "OS_WORK_ORDER_LEDGER_READ",
        "OS_WORK_ORDER_CURRENT_REBUILD",
        "WORKORDER_LIST_PENDING",
        "WORKORDER_CANCEL",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_capability_of_a_real_file_is_found(name: str) -> None:
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"reference ECM file not found at {path}")
    result = compile_paths([path])
    found = [c.id for e in result.program.engines for c in e.capabilities]
    assert found == EXPECTED[name]


def test_the_vid_refinement_takes_the_later_output() -> None:
    path = REFERENCE / "adoption/ECM/PH1_VOICE_ID.md"
    if not path.is_file():
        pytest.skip(f"reference ECM file not found at {path}")
    result = compile_paths([path])
    (engine,) = result.program.engines
    cap = next(c for c in engine.capabilities if c.id == "VID_ENROLL_COMPLETE_COMMIT_ROW")
    assert cap.output is not None
    assert cap.output.text.startswith("VoiceIdEnrollCompleteResult{")
    assert [d.code for d in result.diagnostics].count("ECM071") == 1


def test_a_capability_in_a_later_section_keeps_its_section() -> None:
    from test_handlers import ECM

    result = compile_texts({"specs/ecm/PH1_DEMO.md": ECM})
    sections = {c.id: c.section for e in result.program.engines for c in e.capabilities}
    assert sections["DEMO_SCORE_CANDIDATE"] == "Capability List"
    assert sections["DEMO_PROVIDER_CALL_EXECUTE"] == (
        "Provider Adapter Runtime Contract (Step-1 Lock)"
    )
    notes = [n.title for e in result.program.engines for n in e.notes]
    assert "Provider Adapter Runtime Contract (Step-1 Lock)" not in notes


def test_capability_headings_at_any_level_are_found() -> None:
    ecm = """# PH1.XX ECM Spec

## Engine Header
- `engine_id`: `PH1.XX`
- `purpose`: Headings at every level.

## Capability List

### `XX_READ_A`
- `name`: a
- `input_schema`: `tenant_id`
- `output_schema`: `tenant_id`
- `allowed_callers`: `SELENE_OS_ONLY`
- `side_effects`: `NONE`

## `XX_DO_LATER`
- `name`: b
- `input_schema`: `tenant_id`
- `output_schema`: `tenant_id`
- `side_effects`: `NONE`

## Runtime Lock

### Step 2
- `XX_NOT_A_CAPABILITY` is mentioned here, with no capability keys.

#### XX_DEEP_ONE
- `name`: c
- `input_schema`: `tenant_id`
- `output_schema`: `tenant_id`
- `side_effects`: `NONE`
"""
    result = compile_texts({"specs/ecm/XX.md": ecm})
    found = [(c.id, c.section) for e in result.program.engines for c in e.capabilities]
    assert found == [
        ("XX_READ_A", "Capability List"),
        ("XX_DO_LATER", "`XX_DO_LATER`"),
        ("XX_DEEP_ONE", "Runtime Lock"),
    ]
