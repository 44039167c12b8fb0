"""One run of `ecmc init`'s drafting: the ECM files, the companion specs being drafted beside
them, what each rule drafted, and the last compiled result."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ecmc.adopt.documents import Document, merge
from ecmc.adopt.wiring_docs import WiringDocument
from ecmc.ir import Program
from ecmc.pipeline import FrontendResult, compile_texts

FIELDS_PATH = "specs/common/fields.md"


@dataclass
class Adoption:
    """The drafts of one run, what each rule produced, and the compiled result."""

    ecm: dict[str, str]
    existing: dict[str, str]
    evidence: dict[str, WiringDocument] = field(default_factory=dict)
    """Engine id -> what its DB wiring document says."""
    documents: dict[str, Document] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    """`fields:<rule>`, `records:<rule>`, `tables:sql|placeholder`, `schemas`, `bindings:<op>`,
    `policies`."""
    result: FrontendResult | None = None
    declared: list[tuple[str, str, str]] = field(default_factory=list)
    """(path, section, name) of what the placed bindings declared (event types, codes),
    taken back when the proposals change."""

    def texts(self) -> dict[str, str]:
        """Every spec as it would be written: ECM files, existing specs with drafts merged in,
        and the new drafts."""
        out = {**self.ecm, **self.existing}
        for path, document in self.documents.items():
            out[path] = merge(out[path], document)[0] if path in out else document.markdown()
        return out

    def compile(self) -> Program:
        return self.diagnosed().program

    def diagnosed(self) -> FrontendResult:
        """The drafts compiled as they stand, kept as `result`."""
        self.result = compile_texts(dict(self.texts()))
        return self.result

    def document(self, path: str, title: str, header: list[str]) -> Document:
        return self.documents.setdefault(path, Document(title, header))

    def wiring(self, program: Program, engine_id: str) -> Document:
        path = wiring_path(program, engine_id)
        header = ["- `kind`: `ENGINE_WIRING`", f"- `engine_id`: `{engine_id}`"]
        return self.document(path, f"{engine_id} Wiring (drafted by ecmc init)", header)

    def fields(self) -> Document:
        return self.document(
            FIELDS_PATH, "Field dictionary (drafted by ecmc init)", ["- `kind`: `FIELD_DICTIONARY`"]
        )


def wiring_path(program: Program, engine_id: str) -> str:
    """Where an engine's drafted wiring goes: the wiring directory, under its ECM file's name."""
    return f"specs/wiring/{PurePosixPath(source(program, engine_id)).name}"


def source(program: Program, engine_id: str) -> str:
    return next(e.source for e in program.engines if e.engine_id == engine_id)
