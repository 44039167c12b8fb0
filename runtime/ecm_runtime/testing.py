"""Helpers for a service's own contract tests (the suite `ecmc init` scaffolds).

`example(schema)` builds one small value a capability's JSON Schema admits, deterministically:
required properties only, the shortest strings, the numbers nearest zero in bounds, the first
enum value or `anyOf` branch that yields a value. It reads the JSON Schema pydantic writes for
the generated models (`$ref`/`$defs`, `anyOf`, `enum`, `const`, bounds, lengths, item counts).
`example_input(spec, event_types)` is such a value for a capability's input, with a reason
code its spec declares and an event type its engine may emit; `example_context(rt, caller,
tenant)` a context whose fields their types admit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ecm_contract import CONTEXT_FIELDS, IDEMPOTENCY_FIELD, REASON_FIELD, AuditColumn
from ecm_contract.catalog import AuditEventType
from ecm_contract.invariants import of_type

from ecm_runtime.admission import Admission
from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext


class _Runtime(Protocol):
    """What a contract test's runtime offers these helpers (the Runtime, in practice)."""

    @property
    def admission(self) -> Admission: ...

    def context(self, caller: str, tenant_id: str | None = None, **thread: Any) -> CallContext: ...


_MAX_DEPTH = 24


class NoExample(ValueError):
    """The schema admits nothing this generator can build (a recursive shape, a pattern)."""


def example(schema: Mapping[str, Any]) -> Any:
    """A small value `schema` admits."""
    return _Builder(schema.get("$defs", {})).value(schema, 0)


def example_input(
    spec: CapabilitySpec,
    event_types: Iterable[AuditEventType] = (),
    tenant_id: str | None = None,
) -> dict[str, Any]:
    """A small input the capability's model admits: its reason code one the spec declares,
    its idempotency key its own, its tenant `tenant_id` (when given), and its audit engine
    and event type (when its input names its own) its engine and one that engine may emit."""
    value = of_type(
        example(spec.input_model.model_json_schema(by_alias=True)), dict, f"{spec.id}: its example"
    )
    if isinstance(value.get(REASON_FIELD), str) and spec.reason_codes:
        value[REASON_FIELD] = spec.reason_codes[0]
    if IDEMPOTENCY_FIELD in spec.input_model.model_fields:
        # One key per capability: two capabilities writing one log never share an attempt.
        value[IDEMPOTENCY_FIELD] = f"example-{spec.id.lower()}"
    if tenant_id is not None and isinstance(value.get(AuditColumn.TENANT_ID), str):
        value[AuditColumn.TENANT_ID] = tenant_id  # the caller's own, as the runtime requires
    if isinstance(value.get(AuditColumn.ENGINE), str):
        value[AuditColumn.ENGINE] = spec.engine_id
    if isinstance(value.get(AuditColumn.EVENT_TYPE), str):
        allowed = [t for t in event_types if t.any_engine or t.engine_id == spec.engine_id]
        if allowed:
            value[AuditColumn.EVENT_TYPE] = allowed[0].name
            if allowed[0].severity is not None and AuditColumn.SEVERITY in value:
                value[AuditColumn.SEVERITY] = allowed[0].severity
    return value


def example_context(rt: _Runtime, caller: str, tenant_id: str | None) -> CallContext:
    """A context for `caller` and `tenant_id` whose thread fields their types admit."""
    thread = {
        name: example(adapter.json_schema())
        for name, adapter in rt.admission.context_types.items()
        if name in CONTEXT_FIELDS and name != AuditColumn.TENANT_ID
    }
    return rt.context(caller, tenant_id, **thread)


class _Builder:
    def __init__(self, defs: Mapping[str, Any]) -> None:
        self.defs = defs

    def value(self, schema: Mapping[str, Any], depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise NoExample("the schema nests deeper than an example can")
        if "$ref" in schema:
            return self.value(self.defs[str(schema["$ref"]).rsplit("/", 1)[-1]], depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if "anyOf" in schema and "properties" in schema:
            # An object with its own fields and a union of constraints on some of them (an
            # audit append's event types): the object, narrowed by the first branch.
            return self._first([narrowed(schema, b) for b in schema["anyOf"]], depth)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                return self._first(schema[key], depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _integer(schema)
        if kind == "boolean":
            return False
        if kind == "array":
            item = schema.get("items", {})
            return [self.value(item, depth + 1) for _ in range(int(schema.get("minItems", 0)))]
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        return None if kind == "null" else {}

    def _first(self, branches: list[Mapping[str, Any]], depth: int) -> Any:
        ordered = sorted(branches, key=lambda b: b.get("type") == "null")
        for branch in ordered:
            try:
                return self.value(branch, depth + 1)
            except NoExample:
                continue
        raise NoExample("no branch of the union admits an example")

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        out = {name: self.value(properties[name], depth + 1) for name in schema.get("required", ())}
        extra = schema.get("additionalProperties")
        for index in range(int(schema.get("minProperties", 0)) - len(out)):
            value_schema = extra if isinstance(extra, Mapping) else {}
            out[f"k{index}"] = self.value(value_schema, depth + 1)
        return out


def narrowed(schema: Mapping[str, Any], branch: Mapping[str, Any]) -> dict[str, Any]:
    """An object schema with an `anyOf` of constraints beside its own fields, as the one
    schema it is with `branch` chosen: each field the branch constrains takes its constraint."""
    own = {k: v for k, v in schema.items() if k != "anyOf"}
    properties = {**schema.get("properties", {}), **branch.get("properties", {})}
    return {**own, "properties": properties}


def _string(schema: Mapping[str, Any]) -> str:
    if "pattern" in schema:
        raise NoExample(f"a string matching {schema['pattern']!r}")
    return "x" * max(int(schema.get("minLength", 0)), 1 if schema.get("maxLength", 1) else 0)


def _integer(schema: Mapping[str, Any]) -> int:
    """Zero, moved into the bounds."""
    value = 0
    if "minimum" in schema or "exclusiveMinimum" in schema:
        value = max(value, int(schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)))
    if "maximum" in schema or "exclusiveMaximum" in schema:
        value = min(value, int(schema.get("maximum", schema.get("exclusiveMaximum", 0) - 1)))
    return value
