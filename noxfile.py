"""Developer sessions: `nox -s tests lint typecheck drift`."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "drift"]
nox.options.reuse_existing_virtualenvs = True

SOURCES = ["compiler", "runtime", "generated", "tests", "bench", "noxfile.py"]


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[dev]", "-e", "./generated")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[dev]", "-e", "./generated")
    session.run("mypy", "--strict", "compiler/ecmc", "runtime/ecm_runtime", "generated/selene_ecm")


@nox.session
def drift(session: nox.Session) -> None:
    """generated/ is exactly what `ecmc build` writes from the specs."""
    session.install("-e", ".")
    session.run("ecmc", "check")
