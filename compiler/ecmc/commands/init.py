"""`ecmc init DIR --from ECM_DIR [--sql PATH ...] [--update]`: a service repository around a
team's ECM files, with every companion spec drafted (and every guess marked), the package
built, and a contract-test suite over the whole catalog.

Re-run with `--update`, it adds what is new (ECM files, engines, fields, tables) and never
rewrites an entry or a file already there.

It writes inside DIR only: a path on the way that is a symbolic link (a dangling one
included) is refused before anything is written, and ECM files are copied byte for byte (an
ECM file that is not UTF-8 stays as it was given; the build then says so, located).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ecm_contract import Operation

from ecmc.adopt.acceptance import AcceptanceCheck, acceptance_checks
from ecmc.adopt.adoption import Adoption
from ecmc.adopt.documents import merge
from ecmc.adopt.scaffold import SCAFFOLD_PATHS, package_name, runtime_requirement, scaffold
from ecmc.adopt.sql import Skipped, SqlSchema, read_migrations
from ecmc.adopt.system import adopt
from ecmc.adopt.wiring_docs import cited_documents, read_wiring_documents
from ecmc.commands.build import build
from ecmc.commands.migrations import DIRECTORY, init_migrations
from ecmc.config import ConfigError, load_config
from ecmc.diagnostics import Diagnostic, Diagnostics
from ecmc.frontend.extract import extract
from ecmc.frontend.markdown import parse_document
from ecmc.frontend.reader import MAX_SPEC_BYTES
from ecmc.frontend.syntax import EngineSyntax
from ecmc.ir import Program

ECM_DIR = "specs/ecm"


class InitError(Exception):
    """A usage problem: nothing was written."""


@dataclass
class InitReport:
    written: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    """`path: section: name` of every entry drafted into a file that existed."""
    skipped_sql: list[Skipped] = field(default_factory=list)
    not_ecm: list[tuple[Path, str]] = field(default_factory=list)
    """Markdown files of the ECM folder that are no ECM spec (a README, an index, a file past
    the spec size limit), and why: left out."""
    errors: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    program: Program | None = None
    checks: list[AcceptanceCheck] = field(default_factory=list)
    """The DB wiring documents' acceptance tests, generated into tests/test_acceptance.py."""
    wiring: dict[str, str] = field(default_factory=dict)
    """The DB wiring documents read (display path -> text): given, or cited by an ECM file."""


Reader = Callable[[list[Path]], Iterable[Path]]
"""Wraps the files being read (a progress bar, for a person)."""


def run_init(
    directory: Path,
    ecm_dir: Path,
    sql: list[Path],
    update: bool,
    reading: Reader = lambda files: files,
    wiring: Iterable[Path] = (),
) -> InitReport:
    files = sorted(p for p in ecm_dir.glob("*.md") if p.is_file()) if ecm_dir.is_dir() else []
    if not files:
        raise InitError(f"no ECM files (*.md) in {ecm_dir}")
    if not update and (directory / "specs").exists():
        raise InitError(f"{directory / 'specs'} exists: run with --update to add to it")
    directory = directory.absolute()
    own = directory / "pyproject.toml"
    _refuse_links(directory, [own])
    try:
        package = load_config(directory).package if own.is_file() else package_name(directory)
    except ConfigError as error:
        raise InitError(str(error)) from None
    fixed = ["specs", "generated", f"generated/{package}", DIRECTORY, "alembic.ini"]
    _refuse_links(directory, [directory / p for p in [*fixed, *SCAFFOLD_PATHS]])
    report = InitReport()
    ecm, given = {}, {}
    for file in reading(files):
        if file.stat().st_size > MAX_SPEC_BYTES:  # by its size, before reading it
            report.not_ecm.append((file, f"larger than the {MAX_SPEC_BYTES}-byte spec limit"))
            continue
        data = file.read_bytes()
        text = data.decode("utf-8", errors="replace")
        if _is_ecm(text):
            ecm[f"{ECM_DIR}/{file.name}"] = text
            given[f"{ECM_DIR}/{file.name}"] = data
        else:
            report.not_ecm.append((file, "not an ECM spec (no Engine Header)"))
    if not ecm:
        raise InitError(f"none of the *.md files in {ecm_dir} is an ECM spec (an Engine Header)")
    schema = read_migrations(sql) if sql else None
    report.skipped_sql = list(schema.skipped) if schema is not None else []
    existing = _existing_companions(directory)
    report.wiring = _wiring_documents(list(wiring), ecm_dir, ecm)
    evidence = read_wiring_documents(report.wiring)
    adoption = adopt(ecm, schema or SqlSchema(), existing, evidence)
    report.checks = acceptance_checks(evidence)
    scaffolded = scaffold(directory, package, runtime_requirement(), report.checks)
    _refuse_links(directory, [directory / r for r in [*given, *adoption.documents]])
    _write_specs(directory, adoption, given, existing, report)
    for path, text in scaffolded.items():
        _write_new(directory, directory / path, text, report, executable=path == ".ci/run")
    if not (directory / DIRECTORY).exists() and not (directory / "alembic.ini").exists():
        report.written += [p.as_posix() for p in init_migrations(directory, package)]
    _build(directory, report)
    report.counts = adoption.counts
    return report


def _wiring_documents(given: list[Path], ecm_dir: Path, ecm: dict[str, str]) -> dict[str, str]:
    """The DB wiring documents to read: every *.md of each `--wiring` directory (or file),
    and those the ECM files cite that exist under the ECM folder or one of its parents."""
    files: dict[Path, str] = {}
    for path in given:
        for file in sorted(path.glob("*.md")) if path.is_dir() else [path]:
            base = path if path.is_dir() else path.parent
            files.setdefault(file.absolute(), f"{base.absolute().name}/{file.name}")
    roots = [ecm_dir.absolute(), *ecm_dir.absolute().parents]
    for file, cited in cited_documents(ecm, roots):
        files.setdefault(file.absolute(), cited)
    return {
        shown: file.read_text(encoding="utf-8", errors="replace")
        for file, shown in files.items()
        if file.is_file() and file.stat().st_size <= MAX_SPEC_BYTES
    }


def _existing_companions(directory: Path) -> dict[str, str]:
    specs = directory / "specs"
    found = {}
    for path in sorted(specs.rglob("*.md")) if specs.is_dir() else []:
        relative = path.relative_to(directory).as_posix()
        if not relative.startswith(ECM_DIR + "/"):
            found[relative] = path.read_text(encoding="utf-8", errors="replace")
    return found


def _write_specs(
    directory: Path,
    adoption: Adoption,
    given: dict[str, bytes],
    existing: dict[str, str],
    report: InitReport,
) -> None:
    for relative in adoption.ecm:
        target, data = directory / relative, given[relative]
        if not target.is_file() or target.read_bytes() != data:
            _write(directory, target, data, report)
    for relative, document in adoption.documents.items():
        if relative in existing:
            merged, added = merge(existing[relative], document)
            if added:
                _write(directory, directory / relative, merged.encode(), report)
                report.added += [f"{relative}: {item}" for item in added]
        else:
            _write(directory, directory / relative, document.markdown().encode(), report)


def _write_new(
    directory: Path, path: Path, text: str, report: InitReport, executable: bool = False
) -> None:
    if not (path.exists() or path.is_symlink()):
        _write(directory, path, text.encode(), report)
        if executable:
            path.chmod(0o755)


def _write(directory: Path, path: Path, data: bytes, report: InitReport) -> None:
    _refuse_links(directory, [path])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    report.written.append(path.as_posix())


def _refuse_links(directory: Path, paths: Iterable[Path]) -> None:
    """Refuse to write through a symbolic link under DIR (a dangling one included): what
    init writes stays inside DIR."""
    for path in paths:
        relative = path.relative_to(directory)
        for depth in range(1, len(relative.parts) + 1):
            step = directory.joinpath(*relative.parts[:depth])
            if step.is_symlink():
                raise InitError(
                    f"{step} is a symbolic link: ecmc init writes inside {directory} only; "
                    "nothing was written"
                )


def _build(directory: Path, report: InitReport) -> None:
    project, _ = build(load_config(directory))
    result = project.result
    report.errors = [d for d in result.diagnostics if d.severity == "error"]
    report.sources = result.sources
    report.program = result.program


def summary(report: InitReport) -> list[tuple[str, str]]:
    """The rows of the final table: what was found, what each rule drafted, what is left."""
    counts, program = report.counts, report.program
    engines = program.engines if program is not None else ()
    capabilities = [c for e in engines for c in e.capabilities]
    bindings = {b.capability_id: b for b in program.bindings} if program is not None else {}
    handlers = [
        c
        for c in capabilities
        if c.id not in bindings or bindings[c.id].operation is Operation.HANDLER
    ]

    def rules(prefix: str) -> str:
        found = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith(prefix + ":")}
        return ", ".join(f"{v} by {k}" for k, v in sorted(found.items())) or "none"

    return [
        ("engines", str(len(engines))),
        ("capabilities", str(len(capabilities))),
        ("fields drafted", rules("fields")),
        ("records drafted", rules("records")),
        ("tables drafted", rules("tables")),
        ("schemas restated", str(counts["schemas"])),
        ("caller policies drafted", str(counts["policies"])),
        ("bindings inferred", rules("bindings")),
        ("reason-code roles drafted", str(counts["roles"])),
        ("DB wiring documents read", str(len(report.wiring))),
        ("acceptance tests generated", _checks(report.checks)),
        ("SQL statements not imported", str(len(report.skipped_sql))),
        ("handlers left to implement", str(len(handlers))),
    ]


def _checks(checks: list[AcceptanceCheck]) -> str:
    runnable = sum(1 for c in checks if c.kind != "other")
    return f"{len(checks)} ({runnable} checked by the runtime's guarantees, the rest yours)"


def _is_ecm(text: str) -> bool:
    """Whether the text reads as an ECM spec (an engine header), whatever else is wrong."""
    diagnostics = Diagnostics()
    syntax = extract(parse_document("x.md", text), diagnostics)
    return isinstance(syntax, EngineSyntax)
