"""The catalog as Markdown with Mermaid diagrams, which code hosts render natively: an index
(engines, the data map as a flowchart, the caller x capability matrix) and a page per engine
(lifecycles as state diagrams, capabilities, tables), every item linked to its source line."""

from __future__ import annotations

import re

from ecmc.docs.model import CapabilityView, EngineView, FieldRow, Site, bounds
from ecmc.ir import Lifecycle, Table
from ecmc.span import Span


def render_markdown(site: Site, root: str = "..") -> dict[str, str]:
    """`root`: the project root as seen from the output folder, for links to spec lines."""
    files = {"index.md": _index(site)}
    for view in site.engines:
        files[f"engines/{view.slug}.md"] = _engine(view, root)
    return files


def _link(span: Span, root: str) -> str:
    return f"[{span.path}:{span.line}]({root}/{span.path}#L{span.line})"


def _text(text: str) -> str:
    """Spec prose as Markdown text: HTML and Markdown in it are shown, never rendered (a
    `<script>` in a purpose is five characters and a word, not a script)."""
    shown = " ".join(text.split())
    shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join(f"\\{c}" if c in _MARKUP else c for c in shown)


_MARKUP = frozenset("\\`*_[]()#|!~{}")


def _code(text: str) -> str:
    """Spec text as an inline code span: fenced by more backticks than any run it holds."""
    shown = " ".join(text.split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", shown)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {shown} " if shown.startswith("`") or shown.endswith("`") else shown
    return f"{fence}{padded}{fence}"


def _cell(text: str) -> str:
    return _text(text)


def _index(site: Site) -> str:
    lines = ["# Capability catalog", "", "## Engines", ""]
    lines += ["| engine | purpose | capabilities | tables |", "|---|---|---|---|"]
    lines += [
        f"| [{v.engine.engine_id}](engines/{v.slug}.md) | {_cell(v.engine.purpose)} | "
        f"{len(v.engine.capabilities)} | {len(v.tables)} |"
        for v in site.engines
    ]
    lines += ["", "## Engines and their tables", "", "```mermaid", "flowchart LR"]
    ids = {
        name: f"n{i}"
        for i, name in enumerate([v.engine.engine_id for v in site.engines] + list(site.tables))
    }
    lines += [f'  {ids[v.engine.engine_id]}["{v.engine.engine_id}"]' for v in site.engines]
    lines += [f'  {ids[t]}[("{t}")]' for t in site.tables]
    for engine, relation, table in site.data_edges:
        if engine in ids and table in ids:
            arrow = "-->" if relation == "owns" else "-.->"
            lines.append(f"  {ids[engine]} {arrow}|{relation}| {ids[table]}")
    lines += ["```", "", "## Who may call what", ""]
    lines.append("| capability | " + " | ".join(site.callers) + " |")
    lines.append("|---|" + "---|" * len(site.callers))
    for view in site.engines:
        for cap in view.capabilities:
            marks = " | ".join("✓" if c in cap.capability.callers else "" for c in site.callers)
            target = f"engines/{view.slug}.md#{cap.capability.id.lower()}"
            lines.append(f"| [`{cap.capability.id}`]({target}) | {marks} |")
    return "\n".join(lines) + "\n"


def _engine(view: EngineView, root: str) -> str:
    root = f"../{root}"  # engine pages sit one folder down
    engine = view.engine
    lines = [f"# {engine.engine_id}", "", _text(engine.purpose), "", _link(engine.span, root), ""]
    for lifecycle in view.lifecycles:
        lines += [f"## Lifecycle {lifecycle.name}", "", _link(lifecycle.span, root), ""]
        lines += _state_diagram(lifecycle)
    lines += ["## Capabilities", ""]
    for cap in view.capabilities:
        lines += _capability(cap, root)
    if view.tables:
        lines += ["## Tables", ""]
        for table in view.tables:
            lines += _table(table, root)
    return "\n".join(lines) + "\n"


def _state_diagram(lifecycle: Lifecycle) -> list[str]:
    lines = ["```mermaid", "stateDiagram-v2"]
    for transition in lifecycle.transitions:
        label = transition.action + (
            f" ({transition.reason_code})" if transition.reason_code else ""
        )
        for source in transition.from_states or ("[*]",):
            lines.append(f"  {source} --> {transition.to_state}: {label}")
    lines += [f"  {state} --> [*]" for state in lifecycle.final_states]
    return [*lines, "```", ""]


def _capability(view: CapabilityView, root: str) -> list[str]:
    cap = view.capability
    lines = [f"### {cap.id}", "", f"{_text(cap.name or '')} — {_link(cap.span, root)}", ""]
    lines += [
        f"- callers: {_code(cap.allowed_callers or '')} ({_text(', '.join(cap.callers))})",
        f"- side effects: {_text(view.effects)}; runs as {view.operation}",
        f"- output: {_code(cap.output.text if cap.output else '')}",
        f"- reason codes: {', '.join(f'`{c}`' for c in cap.reason_codes) or 'none'}",
        f"- audit keys: {', '.join(f'`{k}`' for k in view.audit_keys) or 'none'}",
    ]
    lines += _field_rows("input field", view.inputs, root)
    lines += _field_rows("output field", view.outputs, root)
    return [*lines, ""]


def _field_rows(title: str, rows: tuple[FieldRow, ...], root: str) -> list[str]:
    if not rows:
        return []
    lines = ["", f"| {title} | type | bounds | typed by | source |", "|---|---|---|---|---|"]
    lines += [
        f"| `{f.name}{'?' if f.optional else ''}` | {_code(f.type)} | {_text(f.bounds)} | "
        f"{_text(f.rule)} | "
        f"{_link(f.span, root)} |"
        for f in rows
    ]
    return lines


def _table(table: Table, root: str) -> list[str]:
    lines = [f"### {table.name} ({table.truth_type or '?'})", "", _link(table.span, root), ""]
    lines += ["| column | type | nullable | typed by |", "|---|---|---|---|"]
    lines += [
        f"| `{c.name}` | `{c.type.base}` {bounds(c.type)} | {'yes' if c.nullable else 'no'} | "
        f"{c.typed_by} |"
        for c in table.columns
    ]
    lines += ["", f"- primary key: `({', '.join(table.primary_key)})`"]
    lines += [f"- unique {k.name}: `({', '.join(k.columns)})`" for k in table.unique_keys]
    lines += [f"- idempotency {k.name}: `({', '.join(k.columns)})`" for k in table.idempotency_keys]
    return [*lines, ""]
