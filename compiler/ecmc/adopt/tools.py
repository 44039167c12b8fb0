"""A tool path drafted for an engine whose capabilities evidence one.

The evidence: the engine commits tool outcomes (a write whose id says `ok` and one whose id
says `fail`, each taking the tool's name and the query's digest), some table of the system is
a CACHE with a bound read by its key and a bound upsert, and the engine has read-only
queries. Its queries then run through the runtime's tool path: cache, provider, outcome row.
"""

from __future__ import annotations

from ecm_contract import Operation, ToolFields, TruthType

from ecmc.adopt.proposal import Declaration, common_prefix, words
from ecmc.ir import Capability, Engine, Program
from ecmc.resolve.dictionary import INFERRED

DEFAULT_TTL_MS = 300_000
"""How long a cached answer is drafted to live when nothing says (five minutes; review it)."""
_FIELDS = ToolFields()


def draft_tool_path(program: Program, engine: Engine) -> list[Declaration]:
    """The `Tool Path` bullets (and the success code they name) for the engine, or none."""
    if any(p.engine_id == engine.engine_id for p in program.tool_paths):
        return []
    ok = _outcome(engine, "ok")
    fail = _outcome(engine, "fail")
    cache = _cache_capabilities(program)
    if ok is None or fail is None or cache is None or not tool_queries(engine):
        return []
    read, write = cache
    codes = [c.code for c in engine.reason_codes]
    prefix = common_prefix(codes) or engine.engine_id.replace(".", "_").upper()
    code = next((c for c in codes if {"ok", "tool"} <= words(c)), f"{prefix}_OK_TOOL")
    values = {
        "cache_read": read,
        "cache_write": write,
        "ok_commit": ok.id,
        "fail_commit": fail.id,
        "cache_ttl_ms": str(DEFAULT_TTL_MS),
        "reason_code": code,
    }
    found = [Declaration("Tool Path", k, f"- `{k}`: `{v}`") for k, v in values.items()]
    why = (
        f"{INFERRED} from {ok.id} and {fail.id} committing tool outcomes, and the cache's "
        f"read and upsert; the cache_ttl_ms of {DEFAULT_TTL_MS} is a default: say how long "
        "an answer stays good"
    )
    found.append(Declaration("Tool Path", "description", f"- `description`: {why}."))
    if code not in codes:
        entry = f"- `{code}`: {INFERRED} from a tool query that was answered"
        found.append(Declaration("Reason Codes", code, entry))
    return found


def tool_queries(engine: Engine) -> list[Capability]:
    """The engine's read-only queries: what its tool path would run."""
    return [c for c in engine.capabilities if "query" in words(c.id) and not c.writes]


def tool_name(cap: Capability, engine: Engine) -> str:
    """A query's tool, named by its id less the engine's prefix and the words `tool`, `query`."""
    prefix = engine.engine_id.replace(".", "").lower()
    parts = [p.lower() for p in cap.id.split("_")]
    kept = [p for p in parts if p not in {"tool", "query", prefix}]
    return "_".join(kept or parts)


def _outcome(engine: Engine, word: str) -> Capability | None:
    fields = {_FIELDS.tool_name, _FIELDS.status}
    found = [
        c
        for c in engine.capabilities
        if c.writes and {word, "tool"} <= words(c.id) and fields <= {m.name for m in c.input_fields}
    ]
    return found[0] if len(found) == 1 else None


def _cache_capabilities(program: Program) -> tuple[str, str] | None:
    """The bound read and upsert of the system's one cache table."""
    caches = [t.name for t in program.tables if t.truth_type is TruthType.CACHE]
    if len(caches) != 1:
        return None
    on_cache = [b for b in program.bindings if b.table == caches[0]]
    reads = [b.capability_id for b in on_cache if b.operation is Operation.READ_ONE]
    writes = [b.capability_id for b in on_cache if b.operation is Operation.UPSERT]
    return (reads[0], writes[0]) if len(reads) == 1 and len(writes) == 1 else None
