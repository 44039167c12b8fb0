"""Schemas written as bullets of prose around backticked fields (the shape some real ECM
files use): every backticked field is typed, and prose that stands where a field should is a
located warning (ECM025).
"""

from __future__ import annotations

import re

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Bullet, Text
from ecmc.frontend.type_grammar import GrammarError, parse_member
from ecmc.ir import Member, Scalar, Schema, TypeRef
from ecmc.resolve.types import TypeResolver
from ecmc.typeref import ErrorRef, TupleRef

_OPTIONAL_BEFORE = re.compile(r"\boptional\s*$", re.IGNORECASE)
_NULLABLE = re.compile(r"(?P<name>[a-z][a-z0-9_]*)\s*\|\s*null")
_BOOLEAN = re.compile(r"(?P<name>[a-z][a-z0-9_]*)\s*=\s*(?:true\s*\|\s*false|false\s*\|\s*true)")
FIELD = r"[a-z][a-z0-9_]*"
"""A field's name as schemas write it (the readings of schema text share it)."""
LABEL = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
"""One label of an inline enumeration (`OK`, `v1.2`, `text-only`)."""
_PLAIN_FIELD = re.compile(rf"(?P<name>{FIELD})(?P<optional>\?)?")
_LABELS = re.compile(rf"{LABEL}(?:\s*\|\s*{LABEL})+")
_BEFORE_LABELS = re.compile(r"\s*(?:\(|in|:|=|one of)?\s*", re.IGNORECASE)


def prose_schema(bullet: Bullet, resolver: TypeResolver, diagnostics: Diagnostics) -> Schema:
    """A schema written as bullets of prose around backticked fields (the WORK shape).

    Every backticked field is typed; an UPPER_CASE code span is a value being mentioned, not a
    field; prose that names no field is reported, with its location, as untyped.
    """
    members: list[Member] = []
    seen: set[str] = set()
    lines: list[str] = []
    for child in flatten(bullet.children):
        lines.append(child.text.text)
        fields = _fields_of(child)
        for code, labels in fields:
            member = _member(code, labels, child, resolver, diagnostics)
            if member is None:
                continue
            if member.name in seen:
                diagnostics.report(
                    Code.DUPLICATE_FIELD, code.span, f"field {member.name!r} appears twice"
                )
                continue
            seen.add(member.name)
            members.append(member)
        for piece, offset in _untyped_pieces(child.text.text, bool(fields)):
            diagnostics.report(
                Code.UNTYPED_PROSE,
                child.text.span.narrow(offset, len(piece)),
                f"could not type {piece!r}: name the field in backticks",
            )
    span = bullet.key.span if bullet.key is not None else bullet.span
    fields_ref: TypeRef = TupleRef(span, tuple(members)) if members else ErrorRef(span)
    return Schema("\n".join(lines), fields_ref)


def _fields_of(child: Bullet) -> list[tuple[Text, Text | None]]:
    """The fields a schema line names, each with the inline enumeration that follows it
    (`` `status` (`OK | FAIL`) ``, `` `band` in `HIGH | LOW` ``), if any. An UPPER_CASE code
    span on its own is a value being mentioned, not a field."""
    found: list[tuple[Text, Text | None]] = []
    text, position = child.text.text, 0
    codes = list(child.codes)
    for index, code in enumerate(codes):
        start = text.find(f"`{code.text}`", position)
        position = start + len(code.text) + 2 if start >= 0 else position
        if code.text.isupper() or (
            _LABELS.fullmatch(code.text) and not _NULLABLE.fullmatch(code.text)
        ):
            continue
        labels = codes[index + 1] if index + 1 < len(codes) else None
        if labels is not None:
            after = text.find(f"`{labels.text}`", position)
            between = text[position:after] if after >= 0 else "?"
            if not (_LABELS.fullmatch(labels.text) and _BEFORE_LABELS.fullmatch(between)):
                labels = None
        found.append((code, labels))
    return found


def _member(
    code: Text,
    labels: Text | None,
    child: Bullet,
    resolver: TypeResolver,
    diagnostics: Diagnostics,
) -> Member | None:
    """One field of a schema line: `name|null` is optional, `name=true|false` a boolean, a
    field followed by `A | B` an enum of those labels (spec-local types the field dictionary's
    own entry still overrides); anything else is read by the type grammar."""
    at = f"{code.span.path}:{code.span.line}"
    nullable, boolean = _NULLABLE.fullmatch(code.text), _BOOLEAN.fullmatch(code.text)
    if boolean:
        typed = resolver.inline(boolean["name"], Scalar("bool"), f"inline bool {at}", code)
        return Member(boolean["name"], typed, False, (), code.span)
    if nullable:
        typed = resolver.field(nullable["name"], code)
        return Member(nullable["name"], typed, True, (), code.span)
    plain = _PLAIN_FIELD.fullmatch(code.text)
    if labels is not None and plain:
        names = tuple(dict.fromkeys(label.strip() for label in labels.text.split("|")))
        typed = resolver.inline(plain["name"], Scalar("enum", names), f"inline enum {at}", code)
        return Member(plain["name"], typed, bool(plain["optional"]), (), code.span)
    parsed = parse_member(code.text, code.span)
    if isinstance(parsed, GrammarError):
        diagnostics.report(Code.TYPE_SYNTAX, parsed.span(code.span), parsed.message)
        return None
    member = resolver.member(parsed, named_only=True)
    if member is None:
        return None
    before = child.text.text.split(f"`{code.text}`", 1)[0]
    if _OPTIONAL_BEFORE.search(before):
        member = Member(member.name, member.type, True, member.pinned, member.span)
    return member


def flatten(bullets: tuple[Bullet, ...]) -> list[Bullet]:
    out: list[Bullet] = []
    for bullet in bullets:
        out.append(bullet)
        out.extend(flatten(bullet.children))
    return out


_SCHEMA_TOKEN = re.compile(r"[(),+]|`[^`]*`|[^,+()`]+")


def _untyped_pieces(text: str, has_fields: bool) -> list[tuple[str, int]]:
    """Prose pieces of a schema bullet that stand where a field should, with their offsets.

    A bullet with no field at all is untyped as a whole. Otherwise the pieces reported are the
    prose members of a field list, `label (`a`, `b`, some flags)`, and prose joined to a field
    by `+`. The label before a list, the word 'optional', and notes in parentheses right after
    a field are description, not members.
    """
    stripped = text.strip()
    if not has_fields:
        return [(stripped, text.find(stripped))] if stripped else []
    found: list[tuple[str, int]] = []
    member_lists: list[bool] = []  # per open parenthesis: does it hold members?
    previous = ""
    for match in _SCHEMA_TOKEN.finditer(text):
        token = match.group()
        if token == "(":
            member_lists.append(previous != "code")
            previous = "("
        elif token == ")":
            if member_lists:
                member_lists.pop()
            previous = ")"
        elif token in (",", "+"):
            previous = token
        elif token.startswith("`"):
            previous = "code"
        elif word := token.strip():
            in_list = len(member_lists) == 1 and member_lists[0] and previous in (",", "(")
            after_plus = not member_lists and previous == "+"
            if (
                (in_list or after_plus)
                and word.lower() != "optional"
                and any(c.isalpha() for c in word)
            ):
                found.append((word, match.start() + token.find(word)))
            previous = "prose"
    return found
