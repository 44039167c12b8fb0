"""Stage 5, emit: the IR and its lowered catalog -> the files of the generated package.

Views are built here from the IR and hold only strings; one Jinja2 template per output kind
places them. Each planned file carries a fingerprint of the spec files it is made from, so the
writer can skip rendering a file whose inputs did not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import jinja2
from blake3 import blake3
from ecm_contract.catalog import Catalog

from ecmc.emit.engines import engine_view
from ecmc.emit.literals import FILTERS, GENERATED_NOTE
from ecmc.emit.names import PythonIdentifier
from ecmc.emit.package import package_view
from ecmc.emit.package_names import PackageNames
from ecmc.emit.records import records_view
from ecmc.emit.tables import tables_view
from ecmc.ir import Engine, Program
from ecmc.lower.catalog import lower


@dataclass(frozen=True, slots=True)
class PlannedFile:
    path: str
    """Relative to the output directory, with `/`."""
    fingerprint: str
    render: Callable[[], str]


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ecmc.emit", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    return env


def _render(template: str, **context: object) -> str:
    return _environment().get_template(template).render(note=GENERATED_NOTE, **context)


def plan(program: Program, package: str, generator: str) -> list[PlannedFile]:
    """Every file of the generated package, in path order, ready to render on demand."""
    package_name = PythonIdentifier(package)
    digests = dict(program.inputs)
    engine_sources = {e.source for e in program.engines}
    companions = sorted(d for p, d in digests.items() if p not in engine_sources)

    def fingerprint(*parts: str) -> str:
        return blake3("\0".join((generator, package_name, *parts)).encode()).hexdigest()

    everything = fingerprint(*sorted(digests.values()))
    names = PackageNames(program)
    # Lowered once, when the first engine module renders (a check that renders none never).
    lowered = cache(lambda: lower(program))

    def whole_package() -> object:
        return package_view(program, names, package_name)

    def page(template: str, view: Callable[[], object]) -> Callable[[], str]:
        return lambda: _render(template, view=view())

    root = package_name
    files = [
        PlannedFile(f"{root}/__init__.py", everything, page("package_init.py.j2", whole_package)),
        PlannedFile(f"{root}/py.typed", everything, lambda: ""),
        PlannedFile(
            f"{root}/fields.py",
            everything,
            page("fields.py.j2", lambda: names.fields_view(package_name)),
        ),
        PlannedFile(
            f"{root}/records.py",
            fingerprint(*companions),
            page("records.py.j2", lambda: records_view(program, names, package_name)),
        ),
        PlannedFile(
            f"{root}/tables.py",
            fingerprint(*companions),
            page("tables.py.j2", lambda: tables_view(program, package_name)),
        ),
        PlannedFile(f"{root}/catalog.py", everything, page("catalog.py.j2", whole_package)),
        PlannedFile(
            f"{root}/engines/__init__.py", everything, page("engines_init.py.j2", whole_package)
        ),
    ]
    for engine in program.engines:
        module = names.engine_module(engine)
        files.append(
            PlannedFile(
                f"{package_name}/engines/{module}.py",
                fingerprint(digests.get(engine.source, ""), *companions),
                _bind_engine(program, engine, lowered, names, package_name),
            )
        )
    return sorted(files, key=lambda f: f.path)


def _bind_engine(
    program: Program,
    engine: Engine,
    lowered: Callable[[], Catalog],
    names: PackageNames,
    package: str,
) -> Callable[[], str]:
    def view() -> dict[str, object]:
        catalog = lowered()
        contract = next(e for e in catalog.engines if e.engine_id == engine.engine_id)
        entries = {c.id: c for c in catalog.capabilities if c.engine_id == engine.engine_id}
        return engine_view(program, engine, (contract, entries), names, package)

    return lambda: _render("engine.py.j2", view=view())
