"""The field dictionary: type aliases, naming conventions and explicit fields from companion specs.

A field is typed by its explicit entry if it has one, else by the most specific naming
convention that matches it (the longest literal part wins: `*_event_id` beats `*_id`). Each
resolved field records which rule typed it, so `ecmc inspect` can say why a field has its type.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from ecm_contract import FIELD_FAMILY, glob_matches
from ecm_contract.invariants import present

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.field_types import FieldTypeExpr, parse_field_type
from ecmc.frontend.syntax import Bullet, CompanionSection, Text
from ecmc.frontend.type_grammar import GrammarError
from ecmc.ir import Convention, FieldDef, Scalar
from ecmc.span import Span

PRIMITIVES = frozenset({"string", "int", "float", "bool", "json", "object", "enum"})
_BOUNDED = frozenset({"string", "int", "object"})
JSON_BASES = frozenset({"json", "object"})
LIMITS = ("bytes", "strings")
FIELD_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def description_of(bullet: Bullet) -> str:
    """Prose after a bullet's value, without the dash that introduces it."""
    return bullet.trailing.lstrip("-\u2014\u2013: ").strip()


INFERRED = "inferred"
"""How a drafted entry's description starts until a person confirms it (ecmc init)."""


def report_unconfirmed(description: str, at: Span, what: str, diagnostics: Diagnostics) -> None:
    if description.startswith(INFERRED):
        diagnostics.report(
            Code.UNCONFIRMED_DRAFT,
            at,
            f"{what} was drafted by ecmc init and is not confirmed: {description}",
            "check it, then drop the 'inferred ...' words from its description",
        )


@dataclass
class FieldDictionary:
    aliases: dict[str, Scalar] = field(default_factory=dict)
    conventions: list[Convention] = field(default_factory=list)
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def lookup(self, name: str) -> FieldDef | None:
        explicit = self.fields.get(name)
        if explicit is not None:
            return explicit
        best: Convention | None = None
        for convention in self.conventions:
            if matches_convention(convention.pattern, name) and (
                best is None or len(convention.pattern) > len(best.pattern)
            ):
                best = convention
        if best is None:
            return None
        return FieldDef(name, best.type, f"convention {best.pattern}", best.description, best.span)

    def known_names(self) -> list[str]:
        return sorted(self.fields)


def matches_convention(pattern: str, name: str) -> bool:
    """Whether a naming convention's pattern (`*_suffix` or `prefix_*`) types `name` (a
    field, or a field family: `*_gate_ok` is typed by `*_ok`)."""
    return glob_matches(pattern, name)


def build_dictionary(sections: list[CompanionSection], diagnostics: Diagnostics) -> FieldDictionary:
    dictionary = FieldDictionary()
    # Aliases first, in declaration order, so fields and conventions may use any of them.
    for kind, add in (("aliases", _alias), ("conventions", _convention), ("fields", _field)):
        for section in (s for s in sections if s.kind == kind):
            for bullet in _definitions(section, diagnostics):
                add(bullet, dictionary, diagnostics)
    return dictionary


def _alias(bullet: Bullet, dictionary: FieldDictionary, diagnostics: Diagnostics) -> None:
    key, value = _entry(bullet)
    name = key.text
    if name in PRIMITIVES or name in dictionary.aliases:
        diagnostics.report(
            Code.DUPLICATE_DEFINITION, key.span, f"type alias {name!r} is already defined"
        )
        return
    scalar = scalar_type(value, dictionary, diagnostics)
    if scalar is not None:
        dictionary.aliases[name] = scalar


def _convention(bullet: Bullet, dictionary: FieldDictionary, diagnostics: Diagnostics) -> None:
    key, value = _entry(bullet)
    pattern = key.text
    if not FIELD_FAMILY.fullmatch(pattern):
        diagnostics.report(
            Code.BAD_NAME_PATTERN,
            key.span,
            f"naming convention {pattern!r} is not '*_suffix' or 'prefix_*'",
        )
        return
    if any(c.pattern == pattern for c in dictionary.conventions):
        diagnostics.report(
            Code.DUPLICATE_DEFINITION,
            key.span,
            f"naming convention {pattern!r} is defined twice",
        )
        return
    report_unconfirmed(description_of(bullet), key.span, f"convention {pattern}", diagnostics)
    scalar = scalar_type(value, dictionary, diagnostics)
    if scalar is not None:
        dictionary.conventions.append(
            Convention(pattern, scalar, description_of(bullet), bullet.span)
        )


def _field(bullet: Bullet, dictionary: FieldDictionary, diagnostics: Diagnostics) -> None:
    key, value = _entry(bullet)
    name = key.text
    if not FIELD_NAME.fullmatch(name):
        diagnostics.report(
            Code.BAD_NAME_PATTERN, key.span, f"field name {name!r} is not snake_case"
        )
        return
    if name in dictionary.fields:
        diagnostics.report(
            Code.DUPLICATE_DEFINITION,
            key.span,
            f"field {name!r} is defined twice",
            f"first: {dictionary.fields[name].span}",
        )
        return
    report_unconfirmed(description_of(bullet), key.span, f"field {name}", diagnostics)
    scalar = scalar_type(value, dictionary, diagnostics)
    if scalar is not None:
        dictionary.fields[name] = FieldDef(
            name, scalar, "field", description_of(bullet), bullet.span
        )


def _definitions(section: CompanionSection, diagnostics: Diagnostics) -> list[Bullet]:
    found = []
    for bullet in section.bullets:
        if bullet.key is None or bullet.value is None:
            diagnostics.report(
                Code.UNREADABLE_LINE,
                bullet.span,
                f"expected '`name`: `type` — description' in {section.title.text!r}",
            )
            continue
        found.append(bullet)
    return found


def scalar_type(text: Text, dictionary: FieldDictionary, diagnostics: Diagnostics) -> Scalar | None:
    parsed = parse_field_type(text.text, text.span)
    if isinstance(parsed, GrammarError):
        diagnostics.report(Code.FIELD_TYPE_SYNTAX, parsed.span(text.span), parsed.message)
        return None
    if parsed.base in dictionary.aliases:
        alias = dictionary.aliases[parsed.base]
        minimum = parsed.minimum if parsed.minimum is not None else alias.minimum
        maximum = parsed.maximum if parsed.maximum is not None else alias.maximum
        scalar = dataclasses.replace(
            alias, minimum=minimum, maximum=maximum, is_list=parsed.is_list or alias.is_list
        )
    elif parsed.base in PRIMITIVES:
        scalar = Scalar(parsed.base, parsed.labels, parsed.minimum, parsed.maximum, parsed.is_list)
    else:
        known = ", ".join(sorted(PRIMITIVES | dictionary.aliases.keys()))
        diagnostics.report(
            Code.FIELD_TYPE_SYNTAX,
            parsed.span.narrow(0, len(parsed.base)),
            f"unknown field type {parsed.base!r}",
            f"known types: {known}",
        )
        return None
    if scalar.base == "enum" and not scalar.labels:
        diagnostics.report(Code.FIELD_TYPE_SYNTAX, parsed.span, "enum needs labels: enum(A|B)")
        return None
    bounded = parsed.minimum is not None or parsed.maximum is not None
    if bounded and scalar.base not in _BOUNDED:
        diagnostics.report(
            Code.FIELD_TYPE_SYNTAX,
            parsed.span,
            f"bounds apply to string, int and object, not to {scalar.base}",
        )
        return None
    if (
        scalar.minimum is not None
        and scalar.maximum is not None
        and scalar.minimum > scalar.maximum
    ):
        diagnostics.report(
            Code.FIELD_TYPE_SYNTAX,
            parsed.span,
            f"empty bounds: {scalar.minimum} > {scalar.maximum}",
        )
        return None
    if scalar.base in ("string", "object") and scalar.minimum is not None and scalar.minimum < 0:
        what = "a string length" if scalar.base == "string" else "an entry count"
        diagnostics.report(Code.FIELD_TYPE_SYNTAX, parsed.span, f"{what} cannot be negative")
        return None
    return _with_limits(scalar, parsed, diagnostics)


def _with_limits(scalar: Scalar, parsed: FieldTypeExpr, diagnostics: Diagnostics) -> Scalar | None:
    """Size limits of a JSON value: `{bytes=..2048, strings=1..256}`."""
    if parsed.limits and scalar.base not in JSON_BASES:
        diagnostics.report(
            Code.FIELD_TYPE_SYNTAX,
            parsed.span,
            f"size limits apply to json and object, not to {scalar.base}",
        )
        return None
    seen: set[str] = set()
    for limit in parsed.limits:
        where = parsed.span.narrow(limit.offset, len(limit.name))
        low, high = limit.minimum, limit.maximum
        problem = None
        if limit.name not in LIMITS:
            problem = f"unknown size limit {limit.name!r} (known: {', '.join(LIMITS)})"
        elif limit.name in seen:
            problem = f"limit {limit.name!r} is given twice"
        elif _empty_range(low, high):
            problem = f"limit {limit.name!r} is an empty or negative range"
        elif limit.name == "bytes" and (high is None or low not in (None, 0)):
            problem = "a byte limit is a maximum: 'bytes=..N'"
        if problem is not None:
            diagnostics.report(Code.FIELD_TYPE_SYNTAX, where, problem)
            return None
        seen.add(limit.name)
        if limit.name == "bytes":
            scalar = dataclasses.replace(scalar, max_bytes=high)
        else:
            scalar = dataclasses.replace(scalar, string_min=low, string_max=high)
    return scalar


def _empty_range(low: int | None, high: int | None) -> bool:
    return low is not None and (low < 0 or (high is not None and low > high))


def _entry(bullet: Bullet) -> tuple[Text, Text]:
    """The key and value of an entry the caller has seen both of."""
    return present(bullet.key, "an entry's key"), present(bullet.value, "an entry's value")
