"""The pipeline up to the IR in one call: read -> parse -> extract -> resolve -> check, then
the warnings the specs acknowledge set apart.

Context specs (the project's own, when the user names other files) take part in resolution, so
a file is checked against the project's field dictionary, records and callers, but only the
named files' engines and diagnostics are reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ecmc.check.rules import run_checks
from ecmc.diagnostics import Diagnostic, Diagnostics
from ecmc.frontend.extract import extract
from ecmc.frontend.markdown import parse_document
from ecmc.frontend.reader import SpecFile, decode_spec, find_spec_files, read_spec
from ecmc.frontend.suppressions import Suppression, apply_suppressions, read_suppressions
from ecmc.frontend.syntax import SpecSyntax
from ecmc.ir import Program, to_jsonable
from ecmc.resolve.program import resolve_program


@dataclass(frozen=True, slots=True)
class FrontendResult:
    program: Program
    diagnostics: list[Diagnostic]
    sources: dict[str, list[str]]
    reported: frozenset[str]
    """Paths whose engines, definitions and diagnostics are the subject of the run."""
    suppressed: tuple[Diagnostic, ...] = ()
    """Warnings the specs acknowledge (`<!-- ecmc: allow CODE reason -->`), counted apart."""

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def as_json(self) -> dict[str, Any]:
        """The IR of the reported files, then their diagnostics (`ecmc inspect --format json`)."""
        out: dict[str, Any] = {}
        for item in fields(Program):
            value = getattr(self.program, item.name)
            if item.name == "inputs":
                value = tuple(i for i in value if i[0] in self.reported)
            elif item.name != "caller_classes":
                value = tuple(v for v in value if _path_of(v) in self.reported)
            out[item.name] = to_jsonable(value)
        out["diagnostics"] = [d.as_json() for d in self.diagnostics]
        return out


def _path_of(value: object) -> str:
    source = getattr(value, "source", None)
    if isinstance(source, str):
        return source
    span = getattr(value, "span", None)
    return str(getattr(span, "path", ""))


def compile_paths(
    paths: list[Path], context: Iterable[Path] = (), base: Path | None = None
) -> FrontendResult:
    """Compile spec files and directories; `SpecPathError` for a path that does not exist.

    Paths are shown relative to `base` (default: the working directory).
    """
    requested = find_spec_files(paths)
    wanted = {p.resolve() for p in requested}
    extra = [p for p in find_spec_files(list(context)) if p.resolve() not in wanted]
    diagnostics = Diagnostics()
    # Context first: a clash between a named file and the project's specs is then reported
    # on the named file, which is the one being looked at.
    specs = [read_spec(path, diagnostics, base) for path in extra + requested]
    return compile_specs(specs, frozenset(s.path for s in specs[len(extra) :]), diagnostics)


def compile_texts(texts: dict[str, str | bytes]) -> FrontendResult:
    """Compile in-memory specs, by display path: the entry point for tests and tools."""
    diagnostics = Diagnostics()
    specs = [
        decode_spec(path, data.encode("utf-8") if isinstance(data, str) else data, diagnostics)
        for path, data in sorted(texts.items())
    ]
    return compile_specs(specs, frozenset(texts), diagnostics)


def compile_specs(
    specs: list[SpecFile], reported: frozenset[str], diagnostics: Diagnostics
) -> FrontendResult:
    parsed: list[tuple[SpecFile, SpecSyntax]] = []
    suppressions: list[Suppression] = []
    for spec in specs:
        if spec.text is None:
            continue
        text, found = read_suppressions(spec.path, spec.text)
        suppressions += [s for s in found if spec.path in reported]
        syntax = extract(parse_document(spec.path, text), diagnostics)
        if syntax is not None:
            parsed.append((spec, syntax))
    program = resolve_program(parsed, diagnostics)
    run_checks(program, diagnostics)
    own = Diagnostics()
    shown, suppressed = apply_suppressions(
        [d for d in diagnostics.sorted() if d.span.path in reported], suppressions, own
    )
    sources = {spec.path: spec.lines for spec in specs if spec.path in reported}
    shown = sorted([*shown, *own.items], key=Diagnostic.sort_key)
    return FrontendResult(program, shown, sources, reported, tuple(suppressed))
