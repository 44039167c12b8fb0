"""Python names for spec names: validated when made, never built by pasting text together.

Every identifier in generated code comes from here. Spec names are already restricted by the
type grammar; this layer is the second lock: it refuses anything that is not a plain ASCII
identifier, and renames what would clash with Python (keywords, pydantic's own attributes).
"""

from __future__ import annotations

import keyword
import re

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Za-z0-9]+")

# The attributes of a pydantic model; fields by these names get a trailing underscore and keep
# the spec's name as their alias.
_MODEL_RESERVED = frozenset(
    {
        "copy",
        "dict",
        "json",
        "schema",
        "schema_json",
        "construct",
        "validate",
        "from_orm",
        "parse_obj",
        "parse_raw",
        "parse_file",
        "update_forward_refs",
        "model_config",
        "model_fields",
        "model_computed_fields",
        "model_extra",
        "model_fields_set",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
    }
)


class UnsafeName(ValueError):
    """A name that cannot become a Python identifier; the front end should have refused it."""


class PythonIdentifier(str):
    """A valid, non-keyword Python identifier."""

    __slots__ = ()

    def __new__(cls, value: str) -> PythonIdentifier:
        if not _IDENTIFIER.fullmatch(value) or value.startswith("__"):
            raise UnsafeName(f"not a safe identifier: {value!r}")
        if keyword.iskeyword(value) or keyword.issoftkeyword(value):
            value = f"{value}_"
        return super().__new__(cls, value)


class ClassName(PythonIdentifier):
    """A PascalCase class name."""

    __slots__ = ()

    def __new__(cls, value: str) -> ClassName:
        if not value[:1].isupper():
            raise UnsafeName(f"not a class name: {value!r}")
        return str.__new__(cls, PythonIdentifier(value))


def pascal(*parts: str) -> ClassName:
    """`chat_commit_row` + `input` -> `ChatCommitRowInput`; `PH1.D` -> `Ph1D`."""
    words = [w for part in parts for w in _WORD.findall(part)]
    if not words:
        raise UnsafeName(f"no name in {parts!r}")
    # `PH1` and `CHAT` become `Ph1` and `Chat`; `Ph1CapreqRequest` keeps its own case.
    name = "".join(w.capitalize() if w.isupper() or w.islower() else w for w in words)
    if name[0].isdigit():
        name = f"N{name}"
    return ClassName(name)


def snake(text: str) -> PythonIdentifier:
    """`PH1.CAPREQ` -> `ph1_capreq`; `CHAT_COMMIT_ROW` -> `chat_commit_row`."""
    words = _WORD.findall(text)
    if not words:
        raise UnsafeName(f"no name in {text!r}")
    name = "_".join(w.lower() for w in words)
    if name[0].isdigit():
        name = f"n{name}"
    return PythonIdentifier(name)


def model_field(name: str) -> tuple[PythonIdentifier, str | None]:
    """The attribute name of a spec field in a model, and its alias when renamed."""
    attribute = PythonIdentifier(name)
    if attribute in _MODEL_RESERVED:
        return PythonIdentifier(f"{name}_"), name
    return attribute, (name if attribute != name else None)


def capability_prefix(capability_ids: list[str]) -> str:
    """The first `_` segment all of an engine's capability ids share, e.g. `PH1D_`; else ``."""
    heads = {cid.split("_", 1)[0] for cid in capability_ids}
    if len(heads) != 1 or any("_" not in cid for cid in capability_ids):
        return ""
    return heads.pop() + "_"
