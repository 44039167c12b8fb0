"""The base of every generated model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
    )
