"""Schemas a wiring spec restates for its engine's capabilities (`## Schemas`).

An ECM file written for people may state a schema no grammar reads (`stream/device fields`,
`A | B`). The wiring says what the generated code enforces instead, next to the rest of the
engine's wiring; the ECM text stays as written, and the restatement wins. `ecmc init` drafts
these entries, marked, for every schema it cannot read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.keys import keyed, value_text
from ecmc.frontend.syntax import Bullet, CompanionSection
from ecmc.ir import Engine
from ecmc.resolve.dictionary import report_unconfirmed
from ecmc.span import Span

SCHEMA_KEYS = frozenset({"input_schema", "output_schema", "description"})


@dataclass(frozen=True, slots=True)
class RestatedSchema:
    keys: Mapping[str, Bullet]
    span: Span


Restated = Mapping[tuple[str, str], RestatedSchema]
"""(engine id, capability id) -> the schema its wiring restates."""


def collect_schemas(
    sections: Iterable[tuple[str, CompanionSection]], diagnostics: Diagnostics
) -> dict[tuple[str, str], RestatedSchema]:
    found: dict[tuple[str, str], RestatedSchema] = {}
    for engine_id, section in sections:
        for entry in section.entries:
            name, at = entry.name.text, entry.name.span
            keys = keyed(entry.keys, SCHEMA_KEYS, f"schema of {name}", diagnostics)
            if (engine_id, name) in found:
                diagnostics.report(
                    Code.DUPLICATE_DEFINITION,
                    at,
                    f"the schema of {name} is restated twice",
                    f"first at {found[engine_id, name].span}",
                )
                continue
            if not {"input_schema", "output_schema"} & keys.keys():
                diagnostics.report(
                    Code.MISSING_KEY,
                    at,
                    f"schema of {name} restates neither input_schema nor output_schema",
                )
            report_unconfirmed(
                value_text(keys.get("description")), at, f"schema of {name}", diagnostics
            )
            found[engine_id, name] = RestatedSchema(keys, at)
    return found


def check_restated(
    restated: Restated, engines: Mapping[str, Engine], diagnostics: Diagnostics
) -> None:
    """Every restated schema is of a capability its engine declares."""
    for (engine_id, cap_id), schema in restated.items():
        engine = engines.get(engine_id)
        if engine is None or all(c.id != cap_id for c in engine.capabilities):
            diagnostics.report(
                Code.UNKNOWN_CAPABILITY,
                schema.span,
                f"a schema for {cap_id}, which engine {engine_id} does not declare",
            )
