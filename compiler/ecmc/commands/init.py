"""`ecmc init DIR --from ECM_DIR [--sql PATH ...] [--update]`: a service repository around a
team's ECM files, with every companion spec drafted (and every guess marked), the package
built, and a contract-test suite over the whole catalog.

Re-run with `--update`, it adds what is new (ECM files, engines, fields, tables) and never
rewrites an entry or a file already there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ecm_contract import Operation

from ecmc.adopt.documents import merge
from ecmc.adopt.scaffold import package_name, runtime_requirement, scaffold
from ecmc.adopt.sql import Skipped, SqlSchema, read_migrations
from ecmc.adopt.system import Adoption, adopt
from ecmc.commands.build import build
from ecmc.commands.migrations import DIRECTORY, init_migrations
from ecmc.config import load_config
from ecmc.diagnostics import Diagnostic, Diagnostics
from ecmc.frontend.extract import extract
from ecmc.frontend.markdown import parse_document
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
    not_ecm: list[Path] = field(default_factory=list)
    """Markdown files of the ECM folder that are no ECM spec (a README, an index): left out."""
    errors: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    program: Program | None = None


Reader = Callable[[list[Path]], Iterable[Path]]
"""Wraps the files being read (a progress bar, for a person)."""


def run_init(
    directory: Path,
    ecm_dir: Path,
    sql: list[Path],
    update: bool,
    reading: Reader = lambda files: files,
) -> InitReport:
    files = sorted(p for p in ecm_dir.glob("*.md") if p.is_file()) if ecm_dir.is_dir() else []
    if not files:
        raise InitError(f"no ECM files (*.md) in {ecm_dir}")
    if not update and (directory / "specs").exists():
        raise InitError(f"{directory / 'specs'} exists: run with --update to add to it")
    report = InitReport()
    ecm = {}
    for file in reading(files):
        text = _read(file)
        if _is_ecm(text):
            ecm[f"{ECM_DIR}/{file.name}"] = text
        else:
            report.not_ecm.append(file)
    if not ecm:
        raise InitError(f"none of the *.md files in {ecm_dir} is an ECM spec (an Engine Header)")
    schema = read_migrations(sql) if sql else None
    report.skipped_sql = list(schema.skipped) if schema is not None else []
    existing = _existing_companions(directory)
    adoption = adopt(ecm, schema or SqlSchema(), existing)
    _write_specs(directory, adoption, existing, report)
    own = directory / "pyproject.toml"
    package = load_config(directory).package if own.is_file() else package_name(directory)
    for path, text in scaffold(directory, package, runtime_requirement()).items():
        _write_new(directory / path, text, report, executable=path == ".ci/run")
    if not (directory / DIRECTORY).exists() and not (directory / "alembic.ini").exists():
        report.written += [p.as_posix() for p in init_migrations(directory, package)]
    _build(directory, report)
    report.counts = adoption.counts
    return report


def _existing_companions(directory: Path) -> dict[str, str]:
    specs = directory / "specs"
    found = {}
    for path in sorted(specs.rglob("*.md")) if specs.is_dir() else []:
        relative = path.relative_to(directory).as_posix()
        if not relative.startswith(ECM_DIR + "/"):
            found[relative] = path.read_text(encoding="utf-8", errors="replace")
    return found


def _write_specs(
    directory: Path, adoption: Adoption, existing: dict[str, str], report: InitReport
) -> None:
    for relative, text in adoption.ecm.items():
        target = directory / relative
        if not target.is_file() or target.read_text(encoding="utf-8", errors="replace") != text:
            _write(target, text, report)
    for relative, document in adoption.documents.items():
        if relative in existing:
            merged, added = merge(existing[relative], document)
            if added:
                _write(directory / relative, merged, report)
                report.added += [f"{relative}: {item}" for item in added]
        else:
            _write(directory / relative, document.markdown(), report)


def _write_new(path: Path, text: str, report: InitReport, executable: bool = False) -> None:
    if not path.exists():
        _write(path, text, report)
        if executable:
            path.chmod(0o755)


def _write(path: Path, text: str, report: InitReport) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    report.written.append(path.as_posix())


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
        ("SQL statements not imported", str(len(report.skipped_sql))),
        ("handlers left to implement", str(len(handlers))),
    ]


def _is_ecm(text: str) -> bool:
    """Whether the text reads as an ECM spec (an engine header), whatever else is wrong."""
    diagnostics = Diagnostics()
    syntax = extract(parse_document("x.md", text), diagnostics)
    return isinstance(syntax, EngineSyntax)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")
