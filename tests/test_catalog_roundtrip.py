"""The generated package states the lowered catalog exactly: what the runtime is given is
what the compiler's lowering produced, field for field, and a package built for another
contract version is refused at import."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ecm_contract.catalog import CONTRACT_VERSION, IncompatiblePackage, require_contract

from conftest import REPO
from ecmc.commands.build import compile_project
from ecmc.config import load_config
from ecmc.lower.catalog import lower

LOWERED = lower(compile_project(load_config(REPO)).result.program)


def test_every_capability_is_its_lowered_entry() -> None:
    from selene_ecm.catalog import CATALOG

    assert tuple(spec.contract() for spec in CATALOG) == LOWERED.capabilities


def test_every_engine_is_its_lowered_contract() -> None:
    from selene_ecm.engines import MODULES

    stated = tuple(importlib.import_module(m).ENGINE for m in MODULES.values())
    assert sorted(stated, key=lambda e: e.engine_id) == sorted(
        LOWERED.engines, key=lambda e: e.engine_id
    )


def test_the_catalog_is_typed_by_the_contracts_vocabulary() -> None:
    from ecm_contract import Operation, SideEffects

    from selene_ecm.catalog import CATALOG

    assert {type(spec.operation) for spec in CATALOG} == {Operation}
    assert {type(spec.side_effects) for spec in CATALOG} == {SideEffects}


def test_a_version_other_than_the_runtimes_is_refused_with_the_fix() -> None:
    with pytest.raises(IncompatiblePackage, match="run `ecmc build`"):
        require_contract(CONTRACT_VERSION + 1, "old_ecm")


def test_a_package_built_for_another_contract_is_refused_at_import(tmp_path: Path) -> None:
    shutil.copytree(REPO / "generated" / "selene_ecm", tmp_path / "selene_ecm")
    init = tmp_path / "selene_ecm" / "__init__.py"
    stated = f"require_contract({CONTRACT_VERSION}, __name__)"
    text = init.read_text()
    assert stated in text
    init.write_text(text.replace(stated, f"require_contract({CONTRACT_VERSION - 1}, __name__)"))
    run = subprocess.run(
        [sys.executable, "-c", "import selene_ecm"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert f"generated for catalog contract v{CONTRACT_VERSION - 1}" in run.stderr
