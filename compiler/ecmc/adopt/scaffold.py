"""The files of a service repository `ecmc init` writes around the specs: its pyproject (with
`[tool.ecmc]` and this ecmc as a dependency), a README with the two set-up lines, a CI script,
and a contract-test suite over the whole catalog. Each is written only where none exists.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import tomllib
from pathlib import Path

import jinja2

import ecmc

_TEMPLATES = {
    "pyproject.toml": "pyproject.toml.j2",
    "README.md": "README.md.j2",
    ".ci/run": "ci_run.j2",
    "tests/conftest.py": "conftest.py.j2",
    "tests/test_contracts.py": "test_contracts.py.j2",
}


def package_name(directory: Path) -> str:
    """A Python package name from the repository's directory name: `billing-svc` ->
    `billing_svc_ecm`."""
    words = re.findall(r"[a-z0-9]+", directory.resolve().name.lower()) or ["service"]
    name = "_".join(words)
    return f"{'ecm_' if name[0].isdigit() else ''}{name}_ecm"


def runtime_requirement() -> str:
    """How the new repository depends on this ecmc: where it was installed from, else the
    source tree it runs from, else its released version."""
    try:
        distribution = importlib.metadata.distribution("ecmc")
    except importlib.metadata.PackageNotFoundError:
        distribution = None
    direct = distribution.read_text("direct_url.json") if distribution else None
    if direct:
        url = json.loads(direct).get("url")
        if isinstance(url, str):
            return f"ecmc @ {url}"
    for directory in Path(ecmc.__file__).resolve().parents:
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _names_ecmc(pyproject):
            return f"ecmc @ {directory.as_uri()}"
    version = distribution.version if distribution else "0"
    return f"ecmc>={version}"


def _names_ecmc(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return bool(data.get("project", {}).get("name") == "ecmc")


def render(template: str, **values: str) -> str:
    """One of the repository templates of ecmc.adopt, filled in."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ecmc.adopt", "templates"),
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(template).render(values)


def scaffold(directory: Path, package: str, runtime: str) -> dict[str, str]:
    """Relative path -> text of every scaffold file."""
    values = {
        "package": package,
        "distribution": package.removesuffix("_ecm").replace("_", "-") + "-service",
        "runtime": runtime,
    }
    return {path: render(name, **values) for path, name in _TEMPLATES.items()}
