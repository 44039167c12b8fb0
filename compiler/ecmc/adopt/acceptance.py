"""A DB wiring document's acceptance tests, as checks the scaffold runs.

Each test's title says what it proves; the storage guarantees ecmc enforces read as one of
four checks the generated suite knows (a tenant reads none of another's rows, a ledger
refuses rewrites, a retried write is one write, a projection rebuilds to what it was). A test
of anything else is generated too, skipped with the reason: the team writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ecmc.adopt.proposal import words
from ecmc.adopt.wiring_docs import WiringDocument

_KINDS = (
    ("tenant", ({"tenant", "isolation"}, {"cross", "tenant"})),
    ("append_only", ({"append", "only"},)),
    ("idempotency", ({"idempotency"}, {"idempotent"})),
    ("rebuild", ({"rebuild"},)),
)
_NO_REBUILD = frozenset({"no", "not"})
"""`no current table rebuild required`: nothing to rebuild, which a rebuild check cannot show."""


@dataclass(frozen=True, slots=True)
class AcceptanceCheck:
    test_id: str
    title: str
    engine_id: str
    kind: str
    """`tenant`, `append_only`, `idempotency`, `rebuild`, or `other` (the team writes it)."""
    source: str
    """`path:line` of the test in its wiring document."""
    function: str | None
    """The test function the document names for it (the team's own test's name)."""


def acceptance_checks(documents: Mapping[str, WiringDocument]) -> list[AcceptanceCheck]:
    """Every acceptance test of the documents, in engine and document order."""
    found = []
    for engine_id in sorted(documents):
        for test in documents[engine_id].tests:
            found.append(
                AcceptanceCheck(
                    test.test_id,
                    test.title,
                    engine_id,
                    _kind(test.title),
                    str(test.at),
                    test.function,
                )
            )
    return found


def _kind(title: str) -> str:
    said = words(title)
    for kind, readings in _KINDS:
        if any(reading <= said for reading in readings):
            return "other" if kind == "rebuild" and said & _NO_REBUILD else kind
    return "other"
