"""The `ecmc` command line. Exit codes: 0 clean, 1 diagnostics, 2 usage or I/O error.

Each command imports what it needs when it runs, so `ecmc --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from ecm_contract.invariants import present

from ecmc.commands.audit import audit

if TYPE_CHECKING:
    from ecmc.config import Config
    from ecmc.pipeline import FrontendResult

EXIT_CLEAN, EXIT_DIAGNOSTICS, EXIT_USAGE = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ecmc")
def main() -> None:
    """ecmc: compile ECM (Engine Capability Map) specs."""


def _config(*, project: str | None = None) -> Config:
    """The project's settings; a broken pyproject.toml is a usage error. With `project` (the
    command's name), outside a project is one too: the command has nothing to work on."""
    from ecmc.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as error:
        click.echo(f"ecmc: error: {error}", err=True)
        sys.exit(EXIT_USAGE)
    if project is not None and not config.found:
        click.echo(
            f"ecmc: error: `ecmc {project}` needs a project: no pyproject.toml with "
            f"[tool.ecmc] in {config.root} or above it",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    return config


def _run_frontend(paths: tuple[Path, ...]) -> FrontendResult:
    from ecmc.commands.lint import run_frontend
    from ecmc.frontend.reader import SpecPathError

    try:
        return run_frontend(_config(), paths)
    except SpecPathError as error:
        click.echo(f"ecmc: error: {error}", err=True)
        sys.exit(EXIT_USAGE)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human")
@click.option(
    "--max-diagnostics",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Diagnostics shown before '... and N more' (human format).",
)
@click.option("--fail-on-warning", is_flag=True, help="Exit 1 on warnings as well as errors.")
@click.option(
    "--explain", metavar="CODE", help="Explain a diagnostic or diff code: rule, example, fix."
)
@click.option("--list-codes", is_flag=True, help="List every diagnostic code and exit.")
def lint(
    paths: tuple[Path, ...],
    fmt: str,
    max_diagnostics: int,
    fail_on_warning: bool,
    explain: str | None,
    list_codes: bool,
) -> None:
    """Report diagnostics for spec files (default: the project's specs directory)."""
    if explain is not None or list_codes:
        from ecmc.commands import explain as explanations

        if list_codes:
            click.echo(explanations.list_codes())
            return
        text = explanations.explain((explain or "").upper())
        if text is None:
            click.echo(f"ecmc: error: unknown diagnostic code {explain!r}", err=True)
            sys.exit(EXIT_USAGE)
        click.echo(text)
        return
    from ecmc.commands.lint import failing
    from ecmc.diagnostics import render_human, render_json

    result = _run_frontend(paths)
    if fmt == "json":
        click.echo(render_json(result.diagnostics))
    elif result.diagnostics:
        count = len(result.suppressed)
        click.echo(render_human(result.diagnostics, result.sources, max_diagnostics, count))
    else:
        quiet = f" ({len(result.suppressed)} suppressed)" if result.suppressed else ""
        click.echo(f"ecmc: {len(result.reported)} spec file(s), no problems{quiet}")
    sys.exit(EXIT_DIAGNOSTICS if failing(result, fail_on_warning) else EXIT_CLEAN)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json")
def inspect(paths: tuple[Path, ...], fmt: str) -> None:
    """Print the capability IR as JSON, with diagnostics, even when there are errors."""
    from ecmc.commands.lint import inspect_json

    result = _run_frontend(paths)
    click.echo(inspect_json(result))
    sys.exit(EXIT_DIAGNOSTICS if result.has_errors else EXIT_CLEAN)


@main.command()
@click.option("--specs", "specs_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False))
def build(specs_dir: Path | None, out_dir: Path | None) -> None:
    """Compile the specs into the generated package; print a one-line summary."""
    from ecmc.commands.build import build as run_build
    from ecmc.diagnostics import render_human

    config = _config()
    specs = specs_dir or config.specs
    if not specs.is_dir():
        click.echo(f"ecmc: error: no specs directory at {specs}", err=True)
        sys.exit(EXIT_USAGE)
    project, report = run_build(config, specs, out_dir)
    result = project.result
    # Errors in full; warnings are counted here and shown by `ecmc lint`.
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        click.echo(render_human(errors, result.sources))
    if report is None:
        click.echo("ecmc: build failed; nothing written", err=True)
        sys.exit(EXIT_DIAGNOSTICS)
    program = result.program
    capabilities = sum(len(e.capabilities) for e in program.engines)
    removed = f", {len(report.removed)} removed" if report.removed else ""
    click.echo(
        f"ecmc: {len(program.engines)} engines, {capabilities} capabilities; "
        f"{len(report.written)} files written, {len(report.unchanged)} unchanged{removed}"
    )
    warnings = len(result.diagnostics) - len(errors)
    if warnings:
        click.echo(f"ecmc: {warnings} warning(s); `ecmc lint` shows them")


@main.command()
@click.option(
    "--strict",
    is_flag=True,
    help="Rebuild in memory and compare, whatever the manifest says (the default in CI, "
    "where CI is set); otherwise a manifest that matches ends the check.",
)
def check(strict: bool) -> None:
    """Exit 1 when the generated package is not what `ecmc build` would write."""
    from ecmc.commands.check import check as run_check
    from ecmc.commands.check import describe, strict_by_default
    from ecmc.diagnostics import render_human
    from ecmc.frontend.reader import display_path

    config = _config()
    if not config.specs.is_dir():
        click.echo(f"ecmc: error: no specs directory at {config.specs}", err=True)
        sys.exit(EXIT_USAGE)
    report = run_check(config, strict=strict or strict_by_default())
    if report.fast:
        click.echo(
            "ecmc: generated code is up to date (manifest matches; fast path: `--strict`, "
            "or CI, rebuilds and compares every file)"
        )
        return
    result = present(report.project, "the built project").result
    if result.has_errors:
        click.echo(render_human(result.diagnostics, result.sources))
        click.echo("ecmc: the specs have errors; fix them, then run `ecmc build`")
        sys.exit(EXIT_DIAGNOSTICS)
    if not report.drifts:
        click.echo("ecmc: generated code is up to date (rebuilt in memory and compared)")
        return
    out_dir = Path(display_path(config.out))
    for drift in report.drifts:
        click.echo(describe(drift, out_dir))
        if drift.diff:
            click.echo(drift.diff, nl=False)
    click.echo(f"ecmc: {len(report.drifts)} generated file(s) out of date; run `ecmc build` to fix")
    sys.exit(EXIT_DIAGNOSTICS)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--from",
    "ecm_dir",
    required=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="The directory of the system's ECM files (*.md).",
)
@click.option(
    "--sql",
    "sql",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="PostgreSQL migrations (a .sql file or a directory of them); repeatable.",
)
@click.option(
    "--wiring",
    "wiring",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="DB wiring documents (a .md file or a directory of them); repeatable. Those the "
    "ECM files cite are read when found beside them.",
)
@click.option("--update", is_flag=True, help="Add what is new to an existing repository.")
def init(
    directory: Path, ecm_dir: Path, sql: tuple[Path, ...], wiring: tuple[Path, ...], update: bool
) -> None:
    """Write a service repository for a system's ECM files: drafted companion specs (every
    guess marked), the generated package, and a contract test per capability."""
    from ecmc.commands.init import InitError, run_init, summary
    from ecmc.diagnostics import render_human

    def reading(files: list[Path]) -> list[Path]:
        with click.progressbar(files, label="Reading ECM files", file=sys.stderr) as bar:
            return list(bar)

    try:
        report = run_init(directory, ecm_dir, list(sql), update, reading, wiring)
    except InitError as error:
        click.echo(f"ecmc: error: {error}", err=True)
        sys.exit(EXIT_USAGE)
    for path, why in report.not_ecm:
        click.echo(f"{path}: warning: {why}; left out")
    for skipped in report.skipped_sql:
        click.echo(f"{skipped.at}: warning: SQL not imported ({skipped.why}): {skipped.statement}")
    for added in report.added:
        click.echo(f"added {added}")
    width = max(len(label) for label, _ in summary(report))
    for label, value in summary(report):
        click.echo(f"  {label:<{width}}  {value}")
    if report.errors:
        click.echo(render_human(report.errors, report.sources))
        click.echo("ecmc: the drafted specs do not compile yet; nothing was built", err=True)
        sys.exit(EXIT_DIAGNOSTICS)
    click.echo(f"ecmc: {len(report.written)} file(s) written under {directory}")


@main.group()
def migrations() -> None:
    """Alembic migrations of the generated schema."""


@migrations.command("init")
def migrations_init() -> None:
    """Write alembic.ini and migrations/ (env.py configured for the generated package)."""
    from ecmc.commands.migrations import MigrationsExist, init_migrations

    config = _config(project="migrations init")
    try:
        written = init_migrations(config.root, config.package)
    except MigrationsExist as error:
        click.echo(f"ecmc: error: {error}; nothing written", err=True)
        sys.exit(EXIT_USAGE)
    for path in written:
        click.echo(f"wrote {path.relative_to(config.root)}")


@main.command()
@click.argument("base", required=False)
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human")
def diff(base: str | None, fmt: str) -> None:
    """Classify every change of the specs since BASE (a git revision or a directory; default:
    the merge base with the main branch); exit 1 on an unapproved breaking or
    security-relevant change."""
    from ecmc.commands.diff import run_diff
    from ecmc.diagnostics import render_human as render_diagnostics
    from ecmc.diff.report import render_human, render_json
    from ecmc.diff.sources import BaseError

    config = _config(project="diff")
    try:
        report = run_diff(config, base)
    except BaseError as error:
        click.echo(f"ecmc: error: {error}", err=True)
        sys.exit(EXIT_USAGE)
    if report.new.has_errors:
        errors = [d for d in report.new.diagnostics if d.severity == "error"]
        click.echo(render_diagnostics(errors, report.new.sources))
        click.echo("ecmc: the specs have errors; fix them before diffing", err=True)
        sys.exit(EXIT_DIAGNOSTICS)
    if fmt == "json":
        click.echo(render_json(report.judged))
    else:
        shown = render_human(report.judged)
        if shown:
            click.echo(shown)
        click.echo(report.summary())
    sys.exit(EXIT_DIAGNOSTICS if report.failing else EXIT_CLEAN)


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["html", "markdown"]), default="html")
def docs(out_dir: Path | None, fmt: str) -> None:
    """Write the capability catalog: a static HTML site (default `docs/catalog`) or Markdown
    with Mermaid diagrams."""
    from ecmc.commands.docs import write_docs
    from ecmc.diagnostics import render_human

    config = _config(project="docs")
    out = out_dir or config.root / "docs" / "catalog"
    result, written = write_docs(config, out, fmt)
    if result.has_errors:
        errors = [d for d in result.diagnostics if d.severity == "error"]
        click.echo(render_human(errors, result.sources))
        click.echo("ecmc: the specs have errors; no docs written", err=True)
        sys.exit(EXIT_DIAGNOSTICS)
    click.echo(
        f"ecmc: catalog of {len(result.program.engines)} engines in {out}; "
        f"{written} file(s) written"
    )


main.add_command(audit)  # ecmc audit ...: its own module, its commands' imports lazy too
