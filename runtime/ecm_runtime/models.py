"""The base of every generated model (and of those with field families), and the size limits
of JSON fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from ecm_contract import FIELD_KEY, glob_matches
from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    TypeAdapter,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from ecm_runtime.canonical import canonical_json


class SpecModel(BaseModel):
    """Immutable, closed to unknown keys, and addressable by the spec's own field names.

    A field whose spec name clashes with Python or pydantic gets a trailing underscore in
    Python and keeps the spec name as its alias; both names are accepted on input.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        # Spec fields such as `model_id` are ordinary names here; true clashes are renamed.
        protected_namespaces=(),
        # No backend stores NaN or an infinity in JSON: no number field admits them, and a dump
        # spells any that reach a JSON field as the constants a check can see (admission.py).
        allow_inf_nan=False,
        ser_json_inf_nan="constants",
        # An instance handed to the runtime is validated again: `model_construct()` skips it.
        revalidate_instances="always",
    )


class FamilyModel(SpecModel):
    """A model with field families (`*_gate_ok`: any number of fields so named): besides its
    own fields it admits a field whose name a family's pattern matches, of that family's
    type, and no other. `FIELD_FAMILIES` maps each pattern to its type."""

    model_config = ConfigDict(extra="allow")
    FIELD_FAMILIES: ClassVar[Mapping[str, Any]] = {}

    @model_validator(mode="before")
    @classmethod
    def _family_members(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        own = {n for name, f in cls.model_fields.items() for n in (name, f.alias) if n}
        checked = {}
        for key, value in data.items():
            if key in own:
                checked[key] = value
                continue
            family = _family_of(cls.FIELD_FAMILIES, key)
            if family is None:
                raise ValueError(f"{key!r} is no field of {cls.__name__}, nor of its families")
            checked[key] = _adapter(cls.FIELD_FAMILIES[family]).validate_python(value)
        return checked

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        target = handler.resolve_ref_schema(json_schema)
        target["patternProperties"] = {
            _family_regex(pattern): _adapter(typed).json_schema()
            for pattern, typed in cls.FIELD_FAMILIES.items()
        }
        target["additionalProperties"] = False
        return json_schema


def _family_of(families: Mapping[str, Any], key: str) -> str | None:
    if not isinstance(key, str) or not FIELD_KEY.fullmatch(key):
        return None
    return next((p for p in families if glob_matches(p, key)), None)


def _family_regex(pattern: str) -> str:
    """A family's pattern as the JSON Schema regex of the names it admits."""
    if pattern.startswith("*"):
        return f"^[a-z][a-z0-9_]*{re.escape(pattern[1:])}$"
    return f"^{re.escape(pattern[:-1])}[a-z0-9_]+$"


@cache
def _adapter(typed: Any) -> TypeAdapter[Any]:
    return TypeAdapter(typed)


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """Size limits of a JSON field, from the field dictionary (`object{bytes=..2048}`).

    Checked after the value's type: the size of its canonical JSON (the spelling its audit
    digest is taken over) and the length of every string value inside it, however deep.
    """

    max_bytes: int | None = None
    string_min: int | None = None
    string_max: int | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Extension keywords: JSON Schema has no word for these limits; validators ignore them.
        out = dict(handler(schema))
        if self.max_bytes is not None:
            out["x-maxBytes"] = self.max_bytes
        if self.string_min is not None:
            out["x-minStringLength"] = self.string_min
        if self.string_max is not None:
            out["x-maxStringLength"] = self.string_max
        return out

    def check(self, value: Any) -> Any:
        problem = self.problem(value, canonical_json(value))
        if problem is not None:
            raise ValueError(problem)
        return value

    def problem(self, value: Any, canonical: str) -> str | None:
        """What breaks the limits in a value whose canonical JSON is `canonical`; None: nothing
        (the audit log checks the text it then digests)."""
        if self.max_bytes is not None:
            size = len(canonical.encode("utf-8"))
            if size > self.max_bytes:
                return f"{size} bytes of JSON; at most {self.max_bytes} allowed"
        low = self.string_min if self.string_min is not None else 0
        high = self.string_max
        for text in _strings(value):
            if len(text) < low or (high is not None and len(text) > high):
                shown = f"{low}..{high}" if high is not None else f"at least {low}"
                return f"a string of {len(text)} characters; strings must be {shown}"
        return None


def _strings(value: Any) -> list[str]:
    """Every string value inside a JSON value (object keys are names, not values)."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found
