"""The README's tour of the seed capabilities runs as written, on both backends, twice."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from storage import postgres_url


def tour() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", readme, re.S)
    return code


def run_tour(cwd: Path, url: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ECM_DATABASE_URL"}
    if url is not None:
        env["ECM_DATABASE_URL"] = url
    run = subprocess.run(
        [sys.executable, "-c", tour()],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_tour_runs_with_zero_setup_and_again(backend: str, tmp_path: Path) -> None:
    urls = postgres_url() if backend == "postgresql" else iter([None])
    url = next(urls)
    try:
        first = run_tour(tmp_path, url)
        second = run_tour(tmp_path, url)
    finally:
        for _ in urls:  # drops the PostgreSQL schema
            pass
    for output in (first, second):
        assert "FULFILLED" in output
        assert "refused: J_CONTRACT_VALIDATION_FAILED" in output
        assert "5 PH1.D audit rows" in output
    assert "replayed=True" in second and "replayed=False" in first
    assert (tmp_path / "ecm.sqlite3").exists() == (backend == "sqlite")
