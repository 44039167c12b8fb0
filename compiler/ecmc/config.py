"""`[tool.ecmc]` in the nearest pyproject.toml: where specs live, where output goes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Config:
    root: Path
    specs: Path
    out: Path
    package: str


DEFAULT_SPECS = "specs"
DEFAULT_OUT = "generated"
DEFAULT_PACKAGE = "selene_ecm"


def load_config(start: Path | None = None) -> Config:
    """The settings of the project containing `start` (default: the working directory).

    Outside any project, the defaults apply relative to `start`.
    """
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        section = data.get("tool", {}).get("ecmc")
        if isinstance(section, dict):
            return Config(
                root=directory,
                specs=directory / str(section.get("specs", DEFAULT_SPECS)),
                out=directory / str(section.get("out", DEFAULT_OUT)),
                package=str(section.get("package", DEFAULT_PACKAGE)),
            )
    return Config(here, here / DEFAULT_SPECS, here / DEFAULT_OUT, DEFAULT_PACKAGE)
