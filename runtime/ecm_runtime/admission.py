"""What a call must be before anything of it runs: a capability of the runtime's own catalog,
an input its model built and validated, a context as valid as an input, and nothing a backend
could not store.

- **The catalog's specs only.** A spec object that is not the catalog's own (a copy with other
  callers, no event type, ...) is refused: the gate and the audit rules are the catalog's.
- **The input.** A mapping is validated by the capability's model; a model instance must be of
  exactly that model, and is validated again (a `model_construct()` instance never was).
- **The context** is validated as strictly as an input: each of its fields by the type the
  field dictionary gives that field (as the catalog's input models use it), else as a bounded
  identifier or counter.
- **Storable everywhere.** No text holds a NUL (PostgreSQL cannot store one) and no number is
  NaN or infinite (JSON has no such value, and PostgreSQL's JSON refuses it): refused up front
  on every backend, so no call's answer depends on the backend.

Each refusal carries the called capability's contract-validation code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Annotated, Any, NoReturn

import pydantic
from ecm_contract import CONTEXT_FIELDS, Role
from pydantic_core import PydanticSerializationError

from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext
from ecm_runtime.errors import ContractViolation, UnknownCapability
from ecm_runtime.refusals import Refusals

_FALLBACK: dict[type, Any] = {
    str: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=256)],
    int: Annotated[int, pydantic.Field(ge=0, lt=2**128)],
}
"""The type of a context field no input model of the catalog declares."""
_CONTEXT_CACHE = 4096
"""Distinct contexts whose validity is remembered (a context is frozen, so is its verdict)."""


class Admission:
    def __init__(self, capabilities: Mapping[str, CapabilitySpec], refusals: Refusals) -> None:
        self.capabilities, self.refusals = capabilities, refusals
        self.context_types = _context_types(capabilities.values())
        self._verdicts: dict[tuple[Any, ...], str | None] = {}

    def own(self, spec: CapabilitySpec) -> CapabilitySpec:
        """The catalog's own spec of a capability; a forged or foreign one is refused."""
        mine = self.capabilities.get(spec.id)
        if mine is None:
            raise UnknownCapability(f"no compiled spec declares capability {spec.id!r}")
        if mine is not spec:
            self.refuse(mine, f"{spec.id}: the spec given is not this runtime's compiled spec")
        return mine

    def built(self, spec: CapabilitySpec, payload: object) -> pydantic.BaseModel:
        """The call's input as its model validates it."""
        model = spec.input_model
        if isinstance(payload, pydantic.BaseModel) and type(payload) is not model:
            self.refuse(spec, f"{spec.id} takes {model.__name__}, got {type(payload).__name__}")
        if not isinstance(payload, Mapping | pydantic.BaseModel):
            self.refuse(
                spec, f"{spec.id} takes its input model or a mapping, not {type(payload).__name__}"
            )
        try:
            # An instance is validated again (SpecModel revalidates instances), in Rust.
            built = model.model_validate(
                payload if isinstance(payload, pydantic.BaseModel) else dict(payload)
            )
        except pydantic.ValidationError as error:
            self.refuse(spec, summary(error))
        self.storable(spec, built, "its input")
        return built

    def context(self, ctx: CallContext, spec: CapabilitySpec) -> None:
        """Refuse a context any field of which breaks its type."""
        values = tuple(getattr(ctx, name) for name in CONTEXT_FIELDS)
        verdict = self._verdicts.get(values, "")
        if verdict == "":
            verdict = self._verdict(dict(zip(CONTEXT_FIELDS, values, strict=True)))
            if len(self._verdicts) >= _CONTEXT_CACHE:
                self._verdicts.clear()
            self._verdicts[values] = verdict
        if verdict is not None:
            self.refuse(spec, f"{spec.id}: the call context's {verdict}")

    def _verdict(self, values: Mapping[str, Any]) -> str | None:
        for name, value in values.items():
            if value is None:
                continue
            problem = unstorable(value)
            if problem is None:
                try:
                    self.context_types[name].validate_python(value, strict=True)
                except pydantic.ValidationError as error:
                    problem = str(error.errors()[0]["msg"])
            if problem is not None:
                return f"{name} {_shown(value)}: {problem}"
        return None

    def storable(self, spec: CapabilitySpec, value: object, what: str) -> None:
        """Refuse a value no backend stores (see the module's docstring)."""
        problem = unstorable(value)
        if problem is not None:
            self.refuse(spec, f"{spec.id}: {what} {problem}")

    def refuse(self, spec: CapabilitySpec, message: str) -> NoReturn:
        self.refusals.refuse(spec, Role.CONTRACT_VALIDATION, ContractViolation, message)


def _context_types(specs: Iterable[CapabilitySpec]) -> dict[str, pydantic.TypeAdapter[Any]]:
    """Each context field's type: the annotation the catalog's input models give a field of
    that name (the field dictionary types a name once), else a bounded fallback."""
    found: dict[str, Any] = {}
    for spec in specs:
        for name, info in spec.input_model.model_fields.items():
            spec_name = info.alias or name
            if spec_name in CONTEXT_FIELDS and spec_name not in found:
                annotation = info.annotation
                found[spec_name] = (
                    Annotated[(annotation, *info.metadata)] if info.metadata else annotation
                )
    adapters = {}
    for field in fields(CallContext):
        if field.name in CONTEXT_FIELDS:
            kind = int if field.default == 0 else str
            adapters[field.name] = pydantic.TypeAdapter(found.get(field.name, _FALLBACK[kind]))
    return adapters


_MARKERS = ("\\u0000", "NaN", "Infinity")
"""How a NUL, a NaN and an infinity are spelled in a model's JSON (SpecModel writes the
numbers as those constants): a dump without them holds none."""


def unstorable(value: object) -> str | None:
    """What no backend stores in a value (a NUL in a text, a NaN or infinite number), or None.
    Keys of mappings are texts too. A model is looked at in one JSON dump (in Rust), and walked
    only when the dump shows a marker (it may be a text's own spelling of one)."""
    if isinstance(value, pydantic.BaseModel):
        try:
            dumped = value.model_dump_json()
            if not any(marker in dumped for marker in _MARKERS):
                return None
        except PydanticSerializationError:
            pass  # not JSON-shaped: walk it
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "holds a NUL character, which no field may hold"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"holds {item}, which JSON has no number for"
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, pydantic.BaseModel):
            stack.append(_dumped(item))
    return None


def _dumped(model: pydantic.BaseModel) -> object:
    try:
        return model.model_dump()
    except PydanticSerializationError:  # pragma: no cover - a model of plain fields dumps
        return None


def summary(error: pydantic.ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "input"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
