"""The package `__init__`, `engines/__init__` and `catalog.py`: what the package holds."""

from __future__ import annotations

from ecm_contract.catalog import CONTRACT_VERSION

from ecmc.emit.imports import Imports
from ecmc.emit.layout import dict_of, prefixed, render, tuple_of
from ecmc.emit.literals import pyrepr
from ecmc.emit.package_names import PackageNames
from ecmc.ir import Program


def package_view(program: Program, names: PackageNames, package: str) -> dict[str, object]:
    engines = [
        {"engine_id": pyrepr(e.engine_id), "module": names.engine_module(e)}
        for e in program.engines
    ]
    engines = sorted(engines, key=lambda e: str(e["module"]))
    return {
        "package": package,
        "engines": engines,
        "modules": render(
            prefixed(
                "MODULES: dict[str, str] = ",
                dict_of(
                    [
                        (str(e["engine_id"]), pyrepr(f"{package}.engines.{e['module']}"))
                        for e in engines
                    ]
                ),
            )
        ),
        "engine_ids": render(
            prefixed(
                "ENGINES: tuple[str, ...] = ", tuple_of(*(str(e["engine_id"]) for e in engines))
            )
        ),
        "catalog": render(
            prefixed(
                "CATALOG: tuple[CapabilitySpec, ...] = ",
                tuple_of(*(f"*{e['module']}.CAPABILITIES" for e in engines)),
            )
        ),
        "imports": catalog_imports(package, [str(e["module"]) for e in engines]),
        "capability_count": sum(len(e.capabilities) for e in program.engines),
        "contract_version": CONTRACT_VERSION,
    }


def catalog_imports(package: str, modules: list[str]) -> str:
    imports = Imports(package)
    imports.name("ecm_runtime.catalog", "CapabilitySpec")
    for module in modules:
        imports.name(f"{package}.engines", module)
    return imports.render()
