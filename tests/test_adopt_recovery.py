"""`ecmc init` measured against the answer this repository has: drafted from the seed ECM files,
their DB wiring documents (../shared/reference) and the real migrations, how much of the
hand-written `specs/wiring` it recovers — each table's truth type, each capability's binding
(operation and table), each engine's reason-code roles. The score is printed (`pytest -s`)."""

from __future__ import annotations

import pytest

from conftest import REFERENCE, REPO
from ecmc.adopt.sql import read_migrations
from ecmc.adopt.system import adopt
from ecmc.adopt.wiring_docs import read_wiring_documents
from ecmc.ir import Program
from ecmc.pipeline import compile_texts

MIGRATIONS = REFERENCE / "adoption" / "migrations"
_TARGET = 0.9


def _answers(program: Program) -> dict[str, str]:
    """What a wiring says, item by item: `kind:name` -> its value."""
    found = {f"truth:{t.name}": str(t.truth_type) for t in program.tables}
    found |= {f"binding:{b.capability_id}": f"{b.operation} {b.table}" for b in program.bindings}
    found |= {f"role:{r.engine_id}:{r.role}": r.code for r in program.reason_code_roles}
    return found


def _hand_written() -> dict[str, str]:
    texts = {
        p.relative_to(REPO).as_posix(): p.read_text()
        for p in sorted((REPO / "specs").rglob("*.md"))
    }
    return _answers(compile_texts(texts).program)


def _drafted() -> tuple[dict[str, str], int]:
    ecm_dir = REPO / "specs" / "ecm"
    ecm = {f"specs/ecm/{p.name}": p.read_text() for p in sorted(ecm_dir.glob("*.md"))}
    documents = {
        f"reference/{p.name}": p.read_text() for p in sorted(REFERENCE.glob("DB_WIRING_*.md"))
    }
    adoption = adopt(ecm, read_migrations([MIGRATIONS]), {}, read_wiring_documents(documents))
    program = adoption.compile()
    assert adoption.result is not None
    errors = [d for d in adoption.result.diagnostics if d.severity == "error"]
    return _answers(program), len(errors)


@pytest.mark.skipif(not MIGRATIONS.is_dir(), reason="../shared/reference is not beside the repo")
def test_init_recovers_the_hand_written_wiring() -> None:
    answer = _hand_written()
    drafted, errors = _drafted()
    assert errors == 0
    kinds = sorted({key.split(":", 1)[0] for key in answer})
    lines = []
    for kind in kinds:
        items = [k for k in answer if k.startswith(kind + ":")]
        hits = [k for k in items if drafted.get(k) == answer[k]]
        lines.append(f"{kind:8} {len(hits):3}/{len(items):<3}")
        lines += [
            f"   missed {k}: {drafted.get(k)!r}, wanted {answer[k]!r}"
            for k in items
            if k not in hits
        ]
    hits = sum(1 for k in answer if drafted.get(k) == answer[k])
    score = hits / len(answer)
    print("\n".join(["", *lines, f"recovered {hits}/{len(answer)} = {score:.0%}"]))
    assert score >= _TARGET, "\n".join(lines)


def test_the_answer_is_the_repository_s_own() -> None:
    """The measure is not hollow: the hand-written wiring has bindings, roles and truth types."""
    answer = _hand_written()
    for kind in ("truth", "binding", "role"):
        assert sum(1 for k in answer if k.startswith(kind + ":")) >= 5
