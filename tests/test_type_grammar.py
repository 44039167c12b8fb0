"""The type grammar: every expression in the seeds and reference files, forms, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SPECS, project_counts, reference_files
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.extract import extract
from ecmc.frontend.field_types import FieldTypeExpr, parse_field_type
from ecmc.frontend.markdown import parse_document
from ecmc.frontend.syntax import EngineSyntax
from ecmc.frontend.type_grammar import (
    FieldRef,
    GenericType,
    GrammarError,
    InlineRecord,
    ListOf,
    NamedType,
    OptionalOf,
    Pinned,
    TupleType,
    TypeExpr,
    UnitType,
    parse_member,
    parse_type,
)
from ecmc.span import Span

BASE = Span.point("t.md", 3, 10)


def render(node: TypeExpr) -> str:
    """The canonical text of a type expression, in the seeds' spacing."""
    match node:
        case UnitType(keyword=keyword):
            return keyword
        case FieldRef(name=name):
            return name
        case NamedType(name=name, variant=None):
            return name
        case NamedType(name=name, variant=variant):
            return f"{name}::{variant}"
        case GenericType(name=name, args=args):
            return f"{name}<{', '.join(render(a) for a in args)}>"
        case TupleType(members=members):
            return f"({', '.join(render(m) for m in members)})"
        case InlineRecord(name=name, members=members):
            return f"{name} {{ {', '.join(render(m) for m in members)} }}"
        case ListOf(inner=inner):
            return f"{render(inner)}[]"
        case OptionalOf(inner=inner):
            return f"{render(inner)}?"
        case Pinned(inner=inner, values=values):
            return f"{render(inner)}={'|'.join(values)}"
    raise AssertionError(node)


def schema_texts(paths: list[Path]) -> list[tuple[str, str]]:
    """(where, text) of every one-line input/output schema in ECM files."""
    found = []
    for path in paths:
        document = parse_document(path.name, path.read_text(encoding="utf-8"))
        syntax = extract(document, Diagnostics())
        assert isinstance(syntax, EngineSyntax)
        for cap in syntax.capabilities:
            for key in ("input_schema", "output_schema"):
                bullet = cap.get(key)
                if bullet is not None and bullet.value is not None:
                    found.append((f"{path.name}:{cap.id.text}:{key}", bullet.value.text))
    return found


SEED_SCHEMAS = schema_texts(sorted((SPECS / "ecm").glob("*.md")))


def test_seed_schemas_were_found() -> None:
    # every capability of the project's specs, two schemas each
    assert len(SEED_SCHEMAS) == 2 * project_counts()[1]


@pytest.mark.parametrize(("where", "text"), SEED_SCHEMAS, ids=[w for w, _ in SEED_SCHEMAS])
def test_every_seed_schema_parses_and_round_trips(where: str, text: str) -> None:
    node = parse_type(text, BASE)
    assert not isinstance(node, GrammarError), f"{where}: {node}"
    assert render(node) == " ".join(text.split())


def test_every_reference_schema_parses_and_round_trips() -> None:
    schemas = schema_texts(reference_files())
    assert len(schemas) >= 22 + 6  # PH1.REM's 11 capabilities and PH1.J's 3, two schemas each
    for where, text in schemas:
        node = parse_type(text, BASE)
        assert not isinstance(node, GrammarError), f"{where}: {node}"
        assert render(node) == " ".join(text.split()), where


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ArtifactLedgerRowInput", NamedType("ArtifactLedgerRowInput", None, BASE.narrow(0, 22))),
        ("correlation_id", FieldRef("correlation_id", BASE.narrow(0, 14))),
        ("none", UnitType("none", BASE.narrow(0, 4))),
        ("unit", UnitType("unit", BASE.narrow(0, 4))),
        (
            "Ph1CapreqRequest::create_draft_v1",
            NamedType("Ph1CapreqRequest", "create_draft_v1", BASE.narrow(0, 33)),
        ),
        (
            "AuditEvent[]",
            ListOf(NamedType("AuditEvent", None, BASE.narrow(0, 10)), BASE.narrow(0, 12)),
        ),
        (
            "session_id?",
            OptionalOf(FieldRef("session_id", BASE.narrow(0, 10)), BASE.narrow(0, 11)),
        ),
    ],
)
def test_simple_forms_with_exact_spans(text: str, expected: TypeExpr) -> None:
    assert parse_type(text, BASE) == expected


def test_tuple_members_carry_their_own_columns() -> None:
    node = parse_type("(scope_type, scope_id, session_id?)", BASE)
    assert isinstance(node, TupleType)
    assert [m.span.col for m in node.members] == [11, 23, 33]
    assert isinstance(node.members[2], OptionalOf)


def test_a_repeated_expression_is_located_where_each_occurrence_is() -> None:
    text = "Result<Vec<Row { id, tags[], state=OPEN|DONE }>, (a?, none)>"
    elsewhere = Span.point("other.md", 40, 3)
    first, second = parse_type(text, BASE), parse_type(text, elsewhere)
    assert not isinstance(first, GrammarError) and not isinstance(second, GrammarError)
    assert render(first) == render(second) == text

    def spans(node: TypeExpr) -> list[Span]:
        found = [node.span]
        for child in ("inner", "args", "members"):
            value = getattr(node, child, ())
            for item in value if isinstance(value, tuple) else (value,):
                found += spans(item)
        return found

    assert len(spans(first)) == 12
    for here, there in zip(spans(first), spans(second), strict=True):
        assert (here.path, here.line, there.path, there.line) == ("t.md", 3, "other.md", 40)
        assert (here.col - 10, here.end_col - 10) == (there.col - 3, there.end_col - 3)
        assert text[here.col - 10 : here.end_col - 10].strip()


def test_generics_nest() -> None:
    node = parse_type("Map<(tenant_id, capreq_id), CapabilityRequestCurrentRecord>", BASE)
    assert isinstance(node, GenericType) and node.name == "Map"
    key, value = node.args
    assert isinstance(key, TupleType) and len(key.members) == 2
    assert isinstance(value, NamedType)
    result = parse_type("Result<Option<AuditEvent>, StorageError>", BASE)
    assert isinstance(result, GenericType)
    assert isinstance(result.args[0], GenericType) and result.args[0].name == "Option"


def test_inline_records_nest_and_hold_list_fields() -> None:
    node = parse_type(
        "tool_response { tool_name, citations[], provenance { source, retrieved_at } }", BASE
    )
    assert isinstance(node, InlineRecord) and node.name == "tool_response"
    assert isinstance(node.members[1], ListOf)
    provenance = node.members[2]
    assert isinstance(provenance, InlineRecord)
    assert [render(m) for m in provenance.members] == ["source", "retrieved_at"]


def test_pinned_members() -> None:
    node = parse_type("Result<(reminder_id, state=CANCELED), StorageError>", BASE)
    assert isinstance(node, GenericType)
    pair = node.args[0]
    assert isinstance(pair, TupleType)
    assert pair.members[1] == Pinned(
        FieldRef("state", BASE.narrow(21, 5)), ("CANCELED",), BASE.narrow(21, 14)
    )
    member = parse_member("status=OK|REFUSED|FAIL", BASE)
    assert isinstance(member, Pinned) and member.values == ("OK", "REFUSED", "FAIL")


def test_empty_tuple_is_allowed() -> None:
    assert parse_type("()", BASE) == TupleType((), BASE.narrow(0, 2))


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("", 0, "empty type expression"),
        ("(a, b", 5, "expected ')' or ',' between members, found end of expression"),
        ("Result<a, B", 11, "expected '>' to close the arguments of 'Result'"),
        ("a b", 2, "expected end of type expression, found 'b'"),
        ("X::", 3, "expected a variant name after 'X::'"),
        ("(a,, b)", 3, "expected a type, a field name or '('"),
        ("a[", 2, "expected ']' to close a list suffix '[]'"),
        ("(a; b)", 2, "unexpected character ';'"),
        ("Vec<>", 4, "expected a type, a field name or '('"),
        ("(x=)", 3, "expected a value after '=' or '|'"),
        ("a=b", 1, "expected end of type expression, found '='"),
        ("<T>", 0, "expected a type, a field name or '('"),
        ("\u00e9", 0, "unexpected character"),
    ],
)
def test_errors_point_at_the_offending_token(text: str, offset: int, message: str) -> None:
    error = parse_type(text, BASE)
    assert isinstance(error, GrammarError)
    assert error.offset == offset
    assert message in error.message
    assert error.span(BASE).col == BASE.col + offset


def test_nesting_is_bounded() -> None:
    error = parse_type("Vec<" * 40 + "a" + ">" * 40, BASE)
    assert isinstance(error, GrammarError)
    assert "nested deeper" in error.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("string[1..128]", ("string", (), 1, 128, False)),
        ("int[0..10000]", ("int", (), 0, 10000, False)),
        ("string[64]", ("string", (), 64, 64, False)),
        ("int[..10]", ("int", (), None, 10, False)),
        ("int[-5..]", ("int", (), -5, None, False)),
        ("json", ("json", (), None, None, False)),
        ("reference[]", ("reference", (), None, None, True)),
        ("string[1..1024][]", ("string", (), 1, 1024, True)),
        ("enum(HIT|MISS|BYPASS)", ("enum", ("HIT", "MISS", "BYPASS"), None, None, False)),
    ],
)
def test_field_types(text: str, expected: tuple[object, ...]) -> None:
    node = parse_field_type(text, BASE)
    assert isinstance(node, FieldTypeExpr)
    assert (node.base, node.labels, node.minimum, node.maximum, node.is_list) == expected


@pytest.mark.parametrize(
    ("text", "offset"),
    [("string[1..", 10), ("enum()", 5), ("enum(A|)", 7), ("string[a]", 7), ("int[1-2]", 5)],
)
def test_field_type_errors(text: str, offset: int) -> None:
    error = parse_field_type(text, BASE)
    assert isinstance(error, GrammarError)
    assert error.offset == offset
