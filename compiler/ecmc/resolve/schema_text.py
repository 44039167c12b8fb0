"""Schemas as real ECM files write them, outside the type grammar, read the way a careful
person would, each reading a located warning (ECM076).

The text is read with its backticks blanked (offsets kept), so `` `a`, `b` `` and
`(a, `status (OK|FAIL)`, b)` are the lists their authors meant. Shapes read:

- fields without parentheses: `a, b, c` (a tuple of those fields);
- an enumeration after a field: `status (OK|FAIL)`;
- a note or condition after a field: `selected_id (present when status=OK)` (optional),
  `deadline_ms (must be <= budget_ms)`, `x - note`;
- a list of nested records: `bounded entity candidates (candidate_id, tenant_id)`: a field
  `entity_candidates` holding a list of records with those fields (a record when its name is
  a single singular word);
- a record named in prose: `XInput bounded envelope: a, b` (a record XInput with a and b);
- a list of a named record: `ordered PlanSkeleton list`.

A text none of these reads keeps the grammar's error; prose that names no field is a warning
(ECM025) and is left out.
"""

from __future__ import annotations

import re

from ecm_contract.invariants import present

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Bullet, Text
from ecmc.frontend.type_grammar import (
    GrammarError,
    NamedType,
    is_type_name,
    parse_member,
    parse_type,
)
from ecmc.ir import Scalar, Schema
from ecmc.resolve.prose import FIELD, LABEL
from ecmc.resolve.types import TypeResolver
from ecmc.resolve.words import vocabulary
from ecmc.span import Span
from ecmc.typeref import InlineRecordRef, ListRef, Member, TupleRef, TypeRef, UnionRef

_ENUM = re.compile(
    rf"(?P<name>{FIELD})(?P<opt>\?)?\s*(?:\(\s*(?P<a>{LABEL}(?:\s*[|/]\s*{LABEL})+)\s*\)"
    rf"|(?:in|one of|:)\s+(?P<b>{LABEL}(?:\s*\|\s*{LABEL})+))"
)
_NOTED = re.compile(
    rf"(?P<name>{FIELD})(?P<opt>\?)?(?P<note>\s*(?:\(.*\)|[\u2014\u2013:-]\s.*|\s+.*))"
)
_CONDITION = re.compile(
    r"(?i)\b(?:present|only|absent|set|given)\s+(?:when|if)\b|^\s*\(?\s*(?:when|if|optional)\b"
)
_NESTED = re.compile(r"(?P<label>[A-Za-z][A-Za-z0-9_ -]*?)\s*\((?P<inner>.*)\)")
_NAMED_RECORD = re.compile(r"(?P<name>[A-Z][A-Za-z0-9]*)\b(?P<prose>[^:()]*):\s*(?P<fields>.+)")
_ARM = re.compile(r"\s*(?P<label>[A-Z][A-Z0-9_]*)\s*->\s*")


_QUALIFIERS = vocabulary(
    "a an the bounded ordered sorted optional deterministic each every all zero one or "
    "more of per with list lists array arrays set sequence collection entries items "
    "records"
)
_LIST_WORDS = vocabulary("list lists array arrays sequence entries items records set")
_PROSE = re.compile(r"[A-Za-z][A-Za-z0-9 _'.,;:/=<>!-]*")


def read_schema_text(
    raw: str, base: Span, resolver: TypeResolver, diagnostics: Diagnostics
) -> TypeRef | None:
    """The type a schema written outside the grammar states, or None when no reading fits
    (the caller then reports the grammar's error)."""
    text = raw.replace("`", " ")
    start = len(text) - len(text.lstrip())
    body = text.strip()
    if not body:
        return None
    span = base.narrow(start, len(body))
    variants = _ARM.findall(body)
    if len(variants) > 1 and _ARM.match(body):
        return _variants(body, start, base, resolver, diagnostics)
    listed = _named_list(body, start, base, resolver)
    if listed is not None:
        _say(diagnostics, span, f"read {' '.join(body.split())!r} as a list of its record")
        return listed
    named = _NAMED_RECORD.fullmatch(body)
    if named is not None and is_type_name(named["name"]):
        offset = start + named.start("fields")
        members = _members(named["fields"], offset, base, resolver, diagnostics)
        if members:
            _say(diagnostics, span, f"read as the record {named['name']} of the fields after ':'")
            return InlineRecordRef(span, named["name"], members)
    if body.startswith("(") and _closing(body, 0) == len(body) - 1:
        members = _members(body[1:-1], start + 1, base, resolver, diagnostics)
        return TupleRef(span, members) if members else None
    members = _members(body, start, base, resolver, diagnostics)
    if not members:
        return None
    _say(diagnostics, span, "read as a tuple of the fields listed (write them in '(...)')")
    return TupleRef(span, members)


def raw_value(bullet: Bullet) -> tuple[str, Span] | None:
    """A `key: value` bullet's whole value as written, backticks and trailing text included,
    with the span of its first character; None when the line does not hold it."""
    value = bullet.value
    if value is None:
        return None
    code_first = bool(bullet.codes) and value == bullet.codes[0]  # its backtick comes first
    offset = value.span.col - bullet.text.span.col - (1 if code_first else 0)
    line = bullet.text.text
    if offset < 0 or offset >= len(line):
        return None
    raw = line[offset:]
    if not raw.lstrip("`").startswith(value.text[:1]):  # a wrapped or shifted line
        return None
    return raw, bullet.text.span.narrow(offset, len(raw))


def _say(diagnostics: Diagnostics, span: Span, message: str) -> None:
    diagnostics.report(Code.READING, span, message)


def _variants(
    body: str, start: int, base: Span, resolver: TypeResolver, diagnostics: Diagnostics
) -> TypeRef | None:
    """`GET -> a / ROTATE -> a + b`: a union of one record per variant, each named by its
    label."""
    arms = list(_ARM.finditer(body))
    variants: list[tuple[str, TupleRef]] = []
    for index, arm in enumerate(arms):
        end = arms[index + 1].start() if index + 1 < len(arms) else len(body)
        text = re.sub(r"[/;|,\s]+$", "", body[arm.end() : end]).replace("+", ",")
        members = _members(text, start + arm.end(), base, resolver, diagnostics)
        if not members or arm["label"] in dict(variants):
            return None
        span = base.narrow(start + arm.start(), end - arm.start())
        variants.append((arm["label"], TupleRef(span, members)))
    labels = ", ".join(label for label, _ in variants)
    _say(
        diagnostics,
        base.narrow(start, len(body)),
        f"read the variants {labels} as a union: an answer is one of them, the one an input "
        "field of those labels names",
    )
    return UnionRef(base.narrow(start, len(body)), tuple(variants))


def _named_list(body: str, start: int, base: Span, resolver: TypeResolver) -> ListRef | None:
    """`ordered PlanSkeleton list`: one named record among list words."""
    words = body.split()
    names = [w for w in words if is_type_name(w)]
    rest = {w.lower() for w in words if not is_type_name(w)}
    if len(names) != 1 or not rest & _LIST_WORDS or not rest <= _QUALIFIERS:
        return None
    offset = start + body.find(names[0])
    span = base.narrow(offset, len(names[0]))
    item = resolver.resolve(NamedType(names[0], None, span))
    return ListRef(base.narrow(start, len(body)), item)


def _members(
    text: str, start: int, base: Span, resolver: TypeResolver, diagnostics: Diagnostics
) -> tuple[Member, ...]:
    """The members of a comma-separated list; () when one of them reads as nothing at all."""
    members: list[Member] = []
    seen: set[str] = set()
    for piece, offset in _split(text):
        span = base.narrow(start + offset, len(piece))
        member = _member(piece, start + offset, base, resolver, diagnostics)
        if member is None:
            return ()
        if isinstance(member, str):  # prose
            diagnostics.report(
                Code.UNTYPED_PROSE, span, f"could not type {piece!r}: name the field in backticks"
            )
            continue
        if member.name in seen:
            diagnostics.report(Code.DUPLICATE_FIELD, span, f"field {member.name!r} appears twice")
            continue
        seen.add(member.name)
        members.append(member)
    return tuple(members)


def _member(
    piece: str, at: int, base: Span, resolver: TypeResolver, diagnostics: Diagnostics
) -> Member | str | None:
    """One member, by the first reading that fits; "prose" for words that name no field."""
    span = base.narrow(at, len(piece))
    parsed = parse_member(piece, span)
    if not isinstance(parsed, GrammarError):
        return resolver.member(parsed, named_only=False)
    enum = _ENUM.fullmatch(piece)
    if enum is not None:
        labels = re.split(r"\s*[|/]\s*", enum["a"] or enum["b"])
        rule = f"inline enum {span.path}:{span.line}"
        name = enum["name"]
        typed = resolver.inline(
            name, Scalar("enum", tuple(dict.fromkeys(labels))), rule, Text(name, span)
        )
        return Member(name, typed, bool(enum["opt"]), (), span)
    nested = _NESTED.fullmatch(piece)
    if nested is not None and _all_fields(nested["inner"]):
        inner_at = at + nested.start("inner")
        fields = _members(nested["inner"], inner_at, base, resolver, diagnostics)
        if fields:
            return _nested(nested["label"].strip(), fields, span, diagnostics)
    noted = _NOTED.fullmatch(piece)
    if noted is not None and _is_note(noted["name"], noted["note"], resolver):
        name = noted["name"]
        note = re.sub(r"\(\s+|\s+\)", lambda m: m.group().strip(), " ".join(noted["note"].split()))
        optional = bool(noted["opt"]) or bool(_CONDITION.search(note))
        said = " (optional: it is present only under a condition)" if optional else ""
        _say(diagnostics, span, f"read as the field {name!r} with the note {note!r}{said}")
        typed = resolver.field(name, Text(name, span))
        return Member(name, typed, optional, (), span, _note_text(note))
    if _PROSE.fullmatch(piece) and not re.search(r"[<>{}\[\]]", piece):
        return "prose"
    return None


def _note_text(note: str) -> str:
    """The note without what sets it off: `(present when status=OK)`, `- the reason`."""
    note = note.strip()
    if note.startswith("(") and _closing(note, 0) == len(note) - 1:
        return note[1:-1].strip()
    return re.sub(r"^[\u2014\u2013:-]\s*", "", note)


def _is_note(name: str, note: str, resolver: TypeResolver) -> bool:
    """Whether words after a field are its note: not another field (`a b_id`: a missing
    comma), and, when not set off by brackets or a dash, after a name that is surely a field
    (snake case, or one the dictionary knows) rather than the first word of prose."""
    if re.match(rf"\s*{FIELD}_", note) or not re.match(
        r"\s*(?:\(|[\u2014\u2013:-]\s|[A-Za-z])", note
    ):
        return False
    set_off = re.match(r"\s*(?:\(|[\u2014\u2013:-]\s)", note) is not None
    return set_off or "_" in name or resolver.dictionary.lookup(name) is not None


def _all_fields(text: str) -> bool:
    """Whether a parenthesised list holds only fields (then it is a nested record, not a note)."""
    pieces = _split(text)
    return bool(pieces) and all(
        _ENUM.fullmatch(p) or not isinstance(parse_member(p, _NOWHERE), GrammarError)
        for p, _ in pieces
    )


_NOWHERE = Span("", 1, 1, 1, 1)


def _nested(label: str, fields: tuple[Member, ...], span: Span, diagnostics: Diagnostics) -> Member:
    """`bounded entity candidates (a, b)`: a list of records (a record, for one singular word)."""
    words = [w for w in re.split(r"[\s_-]+", label.lower()) if w and w not in _QUALIFIERS]
    name = "_".join(re.sub(r"[^a-z0-9]", "", w) for w in words) or "items"
    if not name[0].isalpha():
        name = f"f_{name}"
    record = InlineRecordRef(span, name, fields)
    plural = label.lower().rstrip().endswith("s") or bool(set(label.lower().split()) & _LIST_WORDS)
    typed: TypeRef = ListRef(span, record) if plural else record
    shape = "a list of records" if plural else "a record"
    _say(diagnostics, span, f"read {label!r} as the field {name!r}: {shape} of its own fields")
    return Member(name, typed, False, (), span)


def _depths(text: str) -> list[int]:
    """The bracket depth after each character. `<` opens only as a generic's bracket
    (`Result<`, right after a name), so a `<=` in a note is no bracket."""
    depths: list[int] = []
    stack: list[str] = []
    for index, char in enumerate(text):
        if char in "({[" or (char == "<" and index and text[index - 1].isalnum()):
            stack.append(char)
        elif (char in ")}]" or (char == ">" and stack[-1:] == ["<"])) and stack:
            stack.pop()
        depths.append(len(stack))
    return depths


def _closing(text: str, at: int) -> int:
    """The index of the bracket closing the one at `at`, or -1."""
    depths = _depths(text)
    opened = depths[at]
    return next((i for i in range(at + 1, len(text)) if depths[i] < opened), -1)


def _split(text: str) -> list[tuple[str, int]]:
    """Top-level comma-separated pieces with their offsets, brackets kept whole."""
    pieces: list[tuple[str, int]] = []
    begin = 0
    depths = _depths(text)
    for index, char in enumerate([*text, ","]):
        if char == "," and (index == len(text) or depths[index] == 0):
            piece = text[begin:index]
            stripped = piece.strip()
            if stripped:
                pieces.append((stripped, begin + len(piece) - len(piece.lstrip())))
            begin = index + 1
    return pieces


def read_schema(bullet: Bullet, resolver: TypeResolver, diagnostics: Diagnostics) -> Schema:
    """A `key: value` schema: by the grammar when it reads it whole (a value's first code
    span, any prose after it a description); otherwise as written (`read_schema_text`), and
    where that finds no reading either, the grammar's error."""
    value = present(bullet.value, "a schema's value")
    trailing = bullet.trailing.strip()
    whole = raw_value(bullet)
    described = bool(bullet.codes) and "`" not in trailing and trailing[:1] not in (",", "+")
    if not trailing or described or whole is None:
        parsed = parse_type(value.text, value.span)
        if not isinstance(parsed, GrammarError) or whole is None:
            return resolver.schema(value)
    raw, base = whole
    quiet = Diagnostics()
    read = read_schema_text(raw, base, resolver, quiet)
    if read is None:
        return resolver.schema(value)
    diagnostics.extend(quiet.items)
    return Schema(" ".join(raw.replace("`", " ").split()), read)
