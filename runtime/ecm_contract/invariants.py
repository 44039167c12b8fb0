"""Facts the code relies on and the type checker cannot see, checked for real: unlike
`assert`, these hold under `python -O`. A failure is a defect (of ecmc, or of a generated
package edited by hand), never a refusal of a caller's input, which carries a reason code."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class BrokenInvariant(RuntimeError):
    """Something that cannot happen did: say what, and where it was relied on."""


def present(value: T | None, what: str) -> T:
    """`value`, which must not be None here."""
    if value is None:
        raise BrokenInvariant(f"{what}: missing")
    return value


def of_type(value: object, kind: type[T], what: str) -> T:
    """`value`, which must be a `kind` here."""
    if not isinstance(value, kind):
        raise BrokenInvariant(f"{what}: a {type(value).__name__}, not a {kind.__name__}")
    return value
