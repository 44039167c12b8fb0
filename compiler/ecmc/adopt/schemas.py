"""Schemas the ECM text states in a form no grammar reads, restated for the wiring's
`## Schemas`: the members that read as fields are kept, the rest listed in the description;
`a | b` of fields becomes `(a?, b?)`; anything else is an opaque JSON object record.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecmc.adopt.records import NOWHERE, OPAQUE_RECORD
from ecmc.frontend.type_grammar import GrammarError, parse_member, parse_type
from ecmc.ir import Program, Schema
from ecmc.resolve.dictionary import FIELD_NAME, INFERRED
from ecmc.typeref import ErrorRef

_OPEN, _CLOSE = "(<{[", ")>}]"


@dataclass(frozen=True, slots=True)
class Restatement:
    engine_id: str
    capability_id: str
    keys: dict[str, str]
    """`input_schema` / `output_schema` -> the type restated; `description` -> why."""

    @property
    def opaque(self) -> bool:
        return OPAQUE_RECORD in self.keys.values()

    def entry(self) -> str:
        lines = [f"### `{self.capability_id}`"]
        lines += [f"- `{key}`: `{value}`" for key, value in self.keys.items() if key != "why"]
        lines.append(f"- `description`: {INFERRED} from {self.keys['why']}.")
        return "\n".join(lines)


def unreadable_schemas(program: Program) -> list[Restatement]:
    """A restatement for every capability with a schema the compiler could not read or the
    ECM text does not state."""
    found = []
    for engine in program.engines:
        for cap in engine.capabilities:
            keys: dict[str, str] = {}
            reasons = []
            for key, schema in (("input_schema", cap.input), ("output_schema", cap.output)):
                if schema is None:
                    keys[key] = OPAQUE_RECORD
                    reasons.append(f"an ECM text that states no {key}: an opaque JSON object")
                elif _unreadable(schema):
                    keys[key], why = restate(schema.text)
                    reasons.append(f"the ECM {key} '{_quoted(schema.text)}': {why}")
            if keys:
                keys["why"] = "; ".join(reasons)
                found.append(Restatement(engine.engine_id, cap.id, keys))
    return found


def _unreadable(schema: Schema) -> bool:
    return isinstance(schema.type, ErrorRef) and schema.type.name is None


def _quoted(text: str) -> str:
    return text.replace("`", "'")


def restate(text: str) -> tuple[str, str]:
    """A type expression for a schema the grammar cannot read, and what was made of it."""
    text = text.strip()
    alternatives = [part.strip() for part in text.split("|")]
    if len(alternatives) > 1 and all(FIELD_NAME.fullmatch(a) for a in alternatives):
        return "(" + ", ".join(a + "?" for a in alternatives) + ")", "one of the fields, optional"
    if text.startswith("(") and text.endswith(")"):
        members = split_members(text[1:-1])
        kept = [m for m in members if not isinstance(parse_member(m, NOWHERE), GrammarError)]
        dropped = [m for m in members if m not in kept]
        restated = "(" + ", ".join(kept) + ")"
        if kept and not isinstance(parse_type(restated, NOWHERE), GrammarError):
            lost = ", ".join(f"'{_quoted(m)}'" for m in dropped)
            return restated, f"the members that read as fields; left out: {lost}"
    return OPAQUE_RECORD, "nothing it can read; an opaque JSON object"


def split_members(text: str) -> list[str]:
    """Top-level comma-separated members, brackets kept whole."""
    members, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            members.append(text[start:index].strip())
            start = index + 1
    members.append(text[start:].strip())
    return [m for m in members if m]
