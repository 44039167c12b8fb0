"""Field types as a diff reads them: whether a change widens or narrows what they admit, and
how they are shown."""

from __future__ import annotations

from ecmc.typeref import ListRef, OptionRef, RecordRef, Scalar, ScalarRef, TypeRef


def scalar_of(ref: TypeRef) -> Scalar | None:
    return ref.scalar if isinstance(ref, ScalarRef) else None


def widening(before: Scalar | None, after: Scalar | None) -> bool | None:
    """True: `after` admits every value `before` does and more; False: some value `before`
    admitted is refused now; None: the same (or not comparable as scalars)."""
    if before is None or after is None or before == after:
        return None
    if before.base != after.base or before.is_list != after.is_list:
        return False
    if before.labels or after.labels:
        if set(before.labels) == set(after.labels):
            return None
        return set(after.labels) >= set(before.labels)
    pairs = [
        (before.minimum, after.minimum, True),
        (before.maximum, after.maximum, False),
        (before.string_min, after.string_min, True),
        (before.string_max, after.string_max, False),
        (before.max_bytes, after.max_bytes, False),
    ]
    for old, new, is_low in pairs:
        if old == new or new is None:
            continue
        if old is None or (new > old if is_low else new < old):
            return False
    return True


def scalar_shown(scalar: Scalar) -> str:
    if scalar.labels:
        return f"enum({'|'.join(scalar.labels)})"
    bounds = (
        ""
        if scalar.minimum is None and scalar.maximum is None
        else (
            f"[{'' if scalar.minimum is None else scalar.minimum}.."
            f"{'' if scalar.maximum is None else scalar.maximum}]"
        )
    )
    return f"{scalar.base}{bounds}{'[]' if scalar.is_list else ''}"


def shown(ref: TypeRef) -> str:
    if isinstance(ref, ScalarRef):
        return scalar_shown(ref.scalar)
    if isinstance(ref, RecordRef):
        return ref.name + (f"::{ref.variant}" if ref.variant else "")
    if isinstance(ref, ListRef):
        return f"List<{shown(ref.item)}>"
    if isinstance(ref, OptionRef):
        return f"Option<{shown(ref.item)}>"
    return ref.kind
