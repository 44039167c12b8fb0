"""What each path loads (DESIGN §9): behaviour, not timing."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

HEAVY = ("sqlalchemy", "pydantic", "ecm_runtime")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(run.stdout.split())


def test_the_compile_path_never_loads_the_runtime_or_its_libraries() -> None:
    loaded = loaded_after(
        "from ecmc.commands.build import compile_project\n"
        "from ecmc.config import load_config\n"
        "from ecmc.write.writer import render_all\n"
        "render_all(compile_project(load_config()).planned)"
    )
    assert "markdown_it" in loaded and "jinja2" in loaded
    assert loaded.isdisjoint(HEAVY)


def test_check_with_nothing_changed_does_not_parse() -> None:
    loaded = loaded_after(
        "from ecmc.config import load_config\n"
        "from ecmc.commands.check import check\n"
        "assert check(load_config()).fast"
    )
    assert loaded.isdisjoint({"markdown_it", "jinja2", *HEAVY})
