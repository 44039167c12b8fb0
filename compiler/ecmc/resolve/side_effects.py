"""A capability's `side_effects`: `NONE`, or `DECLARED (EFFECT + EFFECT ...)` of known effects.

Real ECM files also write a bare name (`INTERNAL_DB_WRITE`, `EXTERNAL_SEND`), `NONE` with a
note (`NONE (result packet only)`), and names of their own. The vocabulary is open in the
wild, so a name outside it is classified by its words (read only, database write, external
call, audit write) and the reading is a located warning (ECM076); a name no word classifies is
an error. A write is never read as read-only: a name with both read and write words reads as
the write, and a `NONE` whose note names a write contradicts itself (an error).
"""

from __future__ import annotations

import re

from ecm_contract import Effect
from ecm_contract import SideEffects as Effects

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.frontend.syntax import Bullet, Text
from ecmc.ir import SideEffects
from ecmc.resolve.words import vocabulary

EFFECTS = frozenset(Effect)
_NONE = re.compile(r"(?i)(?:none|n/a|nothing|no side effects?)\b(?P<note>.*)", re.DOTALL)
_DECLARED = re.compile(r"(?i)declared\b\s*:?\s*(?P<rest>.*)", re.DOTALL)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_SEPARATOR = re.compile(r"\s*(?:[+,&/;]|\band\b)\s*", re.IGNORECASE)
_NEGATION = frozenset({"NO", "NOT", "NEVER", "WITHOUT", "NONE", "ZERO"})

_AUDIT = frozenset({"AUDIT", "AUDITS", "AUDITED", "AUDITING"})


_WRITE_VERBS = vocabulary(
    "WRITE WRITES WRITTEN WRITING APPEND APPENDS INSERT INSERTS UPSERT UPSERTS UPDATE "
    "UPDATES DELETE DELETES COMMIT COMMITS PERSIST PERSISTS STORE STORES SAVE SAVES "
    "MUTATE MUTATES MUTATION MUTATIONS EMIT EMITS PUT REPLACE CREATE CREATES"
)
_STORAGE = vocabulary(
    "DB DATABASE STORAGE LEDGER LEDGERS TABLE TABLES ROW ROWS STATE SQL PERSISTENCE"
)
_PROJECTION = frozenset({"PROJECTION", "PROJECTIONS", "CURRENT"})
_SEND = vocabulary(
    "SEND SENDS SENT DELIVERY DELIVER DELIVERS NOTIFY NOTIFICATION NOTIFICATIONS EMAIL "
    "SMS PUSH WEBHOOK WEBHOOKS PUBLISH PUBLISHES MESSAGE MESSAGES OUTBOX DISPATCH "
    "BROADCAST"
)
_CALL = vocabulary(
    "EXTERNAL PROVIDER PROVIDERS HTTP HTTPS NETWORK API CALL CALLS REMOTE VENDOR THIRD LLM"
)
_READ = vocabulary("READ READS READONLY QUERY QUERIES LOOKUP GET SELECT FETCH SCAN")
_QUIET = vocabulary("INTERNAL ONLY LOCAL OWN IN MEMORY PURE RESULT PACKET")
_MEANINGS = {
    Effect.DB_WRITE: "a database write",
    Effect.DB_WRITE_CURRENT_PROJECTION: "a write of a current projection",
    Effect.AUDIT_WRITE: "an audit write",
    Effect.PROVIDER_CALL: "an external call",
    Effect.EXTERNAL_SEND_REQUEST: "an external send",
}


def classify(name: str) -> tuple[Effect, ...] | None:
    """The effects a name's words say, in vocabulary order; () for read only; None when no
    word classifies it."""
    words = {w for w in re.split(r"[^A-Z0-9]+", name.upper()) if w}
    found: set[Effect] = set()
    external = bool(words & (_SEND | _CALL))
    if words & _SEND:
        found.add(Effect.EXTERNAL_SEND_REQUEST)
    elif words & _CALL:
        found.add(Effect.PROVIDER_CALL)
    if words & _AUDIT:
        found.add(Effect.AUDIT_WRITE)
    storage = words & _STORAGE
    if words & _AUDIT:  # an audit row is the audit log's, not a table of the engine's
        storage -= {"ROW", "ROWS", "TABLE", "TABLES"}
    if (words & _WRITE_VERBS and not (words & _AUDIT or external)) or (
        storage and (words & _WRITE_VERBS or not words & _READ)
    ):
        projection = bool(words & _PROJECTION)
        found.add(Effect.DB_WRITE_CURRENT_PROJECTION if projection else Effect.DB_WRITE)
    if found:
        return tuple(e for e in Effect if e in found)
    if words & _READ and words <= _READ | _STORAGE | _QUIET | {"NONE", "NO"}:
        return ()
    return None


def side_effects(bullet: Bullet | None, diagnostics: Diagnostics) -> SideEffects | None:
    if bullet is None:
        return None
    if bullet.value is None:
        diagnostics.report(Code.BAD_SIDE_EFFECTS, bullet.span, "side_effects has no value")
        return None
    value = bullet.value
    text = " ".join(f"{value.text} {bullet.trailing}".replace("`", " ").split())
    if text == Effects.NONE:
        return SideEffects(Effects.NONE, ())
    none = _NONE.fullmatch(text)
    if none is not None:
        return _none_with_note(value, text, none["note"], diagnostics)
    declared = _DECLARED.fullmatch(text)
    body = declared["rest"] if declared else text
    names = _names(body)
    if not names and re.fullmatch(r"[A-Za-z][A-Za-z0-9 _./-]*", body.strip()):
        names = [body.strip()]  # prose: `writes the audit row`, classified by its words
    if not names:
        diagnostics.report(
            Code.BAD_SIDE_EFFECTS,
            value.span,
            f"side_effects {text!r} is malformed",
            "expected NONE or DECLARED (EFFECT + EFFECT ...)",
        )
        return None
    effects: list[Effect] = []
    readings: list[str] = []
    for name in names:
        span = value.span.narrow(max(value.text.find(name), 0), len(name))
        if name in EFFECTS:
            effects.append(Effect(name))
            continue
        read = classify(name)
        if read is None:
            diagnostics.report(
                Code.BAD_SIDE_EFFECTS,
                span,
                f"unknown side effect {name!r}: no word of it says read, write, audit or call",
                f"known effects: {', '.join(sorted(EFFECTS))}",
            )
            return None
        effects.extend(read)
        meaning = " + ".join(_MEANINGS[e] for e in read) if read else "read only"
        readings.append(meaning if names == [text] else f"{name!r} as {meaning}")
    unique = tuple(dict.fromkeys(effects))  # as written
    canonical = f"DECLARED ({' + '.join(unique)})" if unique else "NONE"
    if readings or declared is None:
        said = f"read as {', '.join(readings)}: " if names == [text] else "read as "
        if readings and names != [text]:
            said = f"read {', '.join(readings)}: "
        diagnostics.report(
            Code.READING,
            value.span,
            f"side_effects {text!r} {said}{canonical}",
            f"write `{canonical}` to say so in the grammar",
        )
    return SideEffects(Effects.DECLARED, tuple(unique)) if unique else SideEffects(Effects.NONE, ())


def _names(body: str) -> list[str]:
    """The effect names of `A + B (note)` or `(A + B) note` (the note is description)."""
    body = body.strip()
    if body.startswith("("):
        close = body.find(")")
        inner = body[1:close] if close >= 0 else body[1:]
    else:
        cut = body.find("(")
        inner = body[:cut] if cut >= 0 else body
    parts = [p for p in _SEPARATOR.split(inner.strip()) if p]
    if not parts or not all(_NAME.fullmatch(p) for p in parts):
        return []
    return parts


def _none_with_note(value: Text, text: str, note: str, diagnostics: Diagnostics) -> SideEffects:
    """`NONE (result packet only)`: NONE, unless the note names a write and negates nothing,
    which contradicts it (a write is never read as read-only)."""
    words = {w for w in re.split(r"[^A-Z0-9]+", note.upper()) if w}
    said = classify(note) if note.strip() else ()
    if said and not words & _NEGATION:
        diagnostics.report(
            Code.BAD_SIDE_EFFECTS,
            value.span,
            f"side_effects {text!r} says NONE, but its note names "
            f"{' + '.join(_MEANINGS[e] for e in said)}",
            "write `DECLARED (...)` with the effects, or reword the note",
        )
    return SideEffects(Effects.NONE, ())
