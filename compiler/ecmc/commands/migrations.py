"""`ecmc migrations init`: an Alembic project for the generated schema (alembic.ini and
`migrations/` with Alembic's own script template and an env.py that configures autogenerate
through `ecm_runtime.migrations.options`)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from ecmc.adopt.scaffold import render

DIRECTORY = "migrations"
DEFAULT_URL = "sqlite:///ecm.sqlite3"


class MigrationsExist(Exception):
    """The repository already has an Alembic project: nothing was written."""


def init_migrations(root: Path, package: str) -> list[Path]:
    """Write alembic.ini and migrations/ under `root`; the paths written."""
    from alembic import command
    from alembic.config import Config

    directory, ini = root / DIRECTORY, root / "alembic.ini"
    if directory.exists() or ini.exists():
        raise MigrationsExist(f"{directory if directory.exists() else ini} exists")
    # Alembic's own notes to the console are about its defaults, which this replaces.
    with contextlib.redirect_stdout(io.StringIO()):
        command.init(Config(str(ini)), str(directory), template="generic")
    replaced = {
        "sqlalchemy.url": f"sqlalchemy.url = {DEFAULT_URL}\n"
        "# ECM_DATABASE_URL, when set, overrides sqlalchemy.url",
        # Relative to the ini file, so the repository can move.
        "script_location": f"script_location = %(here)s/{DIRECTORY}",
    }
    lines = [
        next((new for key, new in replaced.items() if line.startswith(key + " =")), line)
        for line in ini.read_text(encoding="utf-8").splitlines()
    ]
    ini.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "env.py").write_text(
        render("alembic_env.py.j2", package=package), encoding="utf-8"
    )
    return [ini, directory / "env.py", directory / "script.py.mako", directory / "versions"]
