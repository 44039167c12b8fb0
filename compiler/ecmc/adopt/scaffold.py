"""The files of a service repository `ecmc init` writes around the specs: its pyproject (with
`[tool.ecmc]` and this ecmc as a dependency), a README with the two set-up lines, a CI script,
and a contract-test suite over the whole catalog. Each is written only where none exists.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from collections.abc import Sequence
from pathlib import Path

import jinja2

from ecmc.adopt.acceptance import AcceptanceCheck

_TEMPLATES = {
    "pyproject.toml": "pyproject.toml.j2",
    "README.md": "README.md.j2",
    ".ci/run": "ci_run.j2",
    ".gitignore": "gitignore.j2",
    "tests/conftest.py": "conftest.py.j2",
    "tests/test_contracts.py": "test_contracts.py.j2",
    "tests/test_acceptance.py": "test_acceptance.py.j2",
}


SCAFFOLD_PATHS = tuple(_TEMPLATES)


def package_name(directory: Path) -> str:
    """A Python package name from the repository's directory name: `billing-svc` ->
    `billing_svc_ecm`."""
    words = re.findall(r"[a-z0-9]+", directory.resolve().name.lower()) or ["service"]
    name = "_".join(words)
    return f"{'ecm_' if name[0].isdigit() else ''}{name}_ecm"


def runtime_requirement() -> str:
    """How the new repository depends on ecmc, portably: where it was installed from when
    that is a URL any machine can reach (a VCS or an index URL), else its released version.
    A path of this machine (a `file://` install or a source tree) is never written: the
    repository's README says how to install a local ecmc first."""
    try:
        distribution = importlib.metadata.distribution("ecmc")
    except importlib.metadata.PackageNotFoundError:
        return "ecmc"
    direct = distribution.read_text("direct_url.json")
    url = json.loads(direct).get("url") if direct else None
    if isinstance(url, str) and not url.startswith("file:"):
        return f"ecmc @ {url}"
    return f"ecmc>={distribution.version}"


def _literal(checks: Sequence[AcceptanceCheck]) -> str:
    """The checks as a Python list literal, one per line."""
    if not checks:
        return "[]"
    items = [
        "    "
        + repr(
            {
                "id": c.test_id,
                "function": c.function or "",
                "title": c.title,
                "engine": c.engine_id,
                "kind": c.kind,
                "source": c.source,
            }
        )
        + ","
        for c in checks
    ]
    return "[\n" + "\n".join(items) + "\n]"


def render(template: str, **values: str) -> str:
    """One of the repository templates of ecmc.adopt, filled in."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ecmc.adopt", "templates"),
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(template).render(values)


def scaffold(
    directory: Path, package: str, runtime: str, checks: Sequence[AcceptanceCheck] = ()
) -> dict[str, str]:
    """Relative path -> text of every scaffold file; `checks`, the DB wiring documents'
    acceptance tests the suite runs."""
    values = {
        "package": package,
        "distribution": package.removesuffix("_ecm").replace("_", "-") + "-service",
        "runtime": runtime,
        "checks": _literal(checks),
    }
    return {path: render(name, **values) for path, name in _TEMPLATES.items()}
