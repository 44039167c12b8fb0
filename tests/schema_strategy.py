"""Hypothesis strategies drawn from a JSON Schema: every value the schema admits can be drawn.

hypothesis-jsonschema would do this, but its last release calls hypothesis internals that no
longer exist. The catalog's schemas come from pydantic and use a small part of JSON Schema:
`$ref`/`$defs`, `anyOf`, `enum`, `const`, typed objects with `properties`, `required` and
`additionalProperties`, arrays, strings with length bounds, integers with value bounds,
booleans, null, and `{}` for any JSON value. Anything else fails loudly, so a schema the
runtime emits can never silently be tested with less than it admits.
"""

from __future__ import annotations

from typing import Any

from ecm_runtime.testing import narrowed
from hypothesis import strategies as st

# Annotations only: they admit every value, so they narrow nothing.
_IGNORED = frozenset({"title", "description", "default", "examples"})
_ARRAY_MAX = 6
_OBJECT_MAX = 6

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
ANY_JSON: st.SearchStrategy[Any] = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def from_schema(
    schema: dict[str, Any], defs: dict[str, Any] | None = None
) -> st.SearchStrategy[Any]:
    defs = schema.get("$defs", {}) if defs is None else defs
    keys = set(schema) - _IGNORED - {"$defs"} - {k for k in schema if k.startswith("x-")}
    if not keys:
        return ANY_JSON
    if "$ref" in schema:
        return st.deferred(lambda: from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs))
    if "anyOf" in schema and "properties" in schema:
        # An object narrowed by one branch of constraints on its fields (an audit append).
        return st.one_of(*(from_schema(narrowed(schema, b), defs) for b in schema["anyOf"]))
    if "anyOf" in schema:
        return st.one_of(*(from_schema(option, defs) for option in schema["anyOf"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, defs)
    if kind == "array":
        items = from_schema(schema.get("items", {}), defs)
        high = schema.get("maxItems", _ARRAY_MAX)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=high)
    if kind == "string":
        high = schema.get("maxLength")
        return st.text(min_size=schema.get("minLength", 0), max_size=high if high else 80)
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise NotImplementedError(f"no strategy for schema {schema!r}")


def _object(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    fixed = st.fixed_dictionaries(
        {k: from_schema(v, defs) for k, v in properties.items() if k in required},
        optional={k: from_schema(v, defs) for k, v in properties.items() if k not in required},
    )
    extra = schema.get("additionalProperties", True)
    if extra is False or properties:
        return fixed
    values = ANY_JSON if extra is True else from_schema(extra, defs)
    low = schema.get("minProperties", 0)
    high = schema.get("maxProperties", _OBJECT_MAX)
    return st.dictionaries(st.text(max_size=20), values, min_size=low, max_size=high)
