"""`[tool.ecmc]` in the nearest pyproject.toml: where specs live, where output goes.

A pyproject.toml that is not TOML, or a `[tool.ecmc]` whose values are not what they must
be (a package name that is no Python identifier, say), is an error with its place: a build
never falls back to the defaults behind a broken setting.
"""

from __future__ import annotations

import keyword
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SPECS = "specs"
DEFAULT_OUT = "generated"
DEFAULT_PACKAGE = "selene_ecm"


class ConfigError(Exception):
    """A pyproject.toml ecmc cannot take as it is (the message says where and why)."""


@dataclass(frozen=True, slots=True)
class Config:
    root: Path
    specs: Path
    out: Path
    package: str
    found: bool = True
    """Whether a pyproject.toml with `[tool.ecmc]` says so (else the defaults, here)."""


def load_config(start: Path | None = None) -> Config:
    """The settings of the project containing `start` (default: the working directory).

    Outside any project, the defaults apply relative to `start` (`found` is False).
    Raises ConfigError for a pyproject.toml on the way that cannot be read.
    """
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        section = _section(candidate)
        if section is not None:
            return Config(
                root=directory,
                specs=directory / _text(section, "specs", DEFAULT_SPECS, candidate),
                out=directory / _text(section, "out", DEFAULT_OUT, candidate),
                package=package_name(
                    _text(section, "package", DEFAULT_PACKAGE, candidate), candidate
                ),
            )
    return Config(here, here / DEFAULT_SPECS, here / DEFAULT_OUT, DEFAULT_PACKAGE, found=False)


def _section(path: Path) -> dict[str, object] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib says where: "... (at line 3, column 7)".
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    tool = data.get("tool", {})
    section = tool.get("ecmc") if isinstance(tool, dict) else None
    if section is not None and not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.ecmc] must be a table")
    return section


def _text(section: dict[str, object], key: str, default: str, path: Path) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: [tool.ecmc] {key} must be a non-empty string")
    return value


def package_name(name: str, path: Path) -> str:
    """The generated package's name: one Python identifier, so that it imports, and so that
    nothing pasted from it into generated code (env.py, imports) can be more than a name."""
    if not name.isidentifier() or not name.isascii() or keyword.iskeyword(name):
        raise ConfigError(
            f"{path}: [tool.ecmc] package {name!r} is not a Python identifier (letters, digits "
            "and underscores, not starting with a digit; no dots: the package is top level)"
        )
    return name
