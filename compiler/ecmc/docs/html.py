"""The catalog as a static, self-contained HTML site: an index of engines with the data map
and the caller x capability matrix, a page per engine, and each spec file as a page whose
lines are anchors, so every item links to the line that says it. No script, no network."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from ecmc.docs.model import CapabilityView, EngineView, FieldRow, Site, bounds
from ecmc.docs.svg import data_map_svg, lifecycle_svg
from ecmc.ir import Table
from ecmc.span import Span

_CSS = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;"
    "color:#1b1f24}table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid"
    " #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f3f6fa}"
    "code{font:13px ui-monospace,monospace}a.src{font-size:12px;color:#57606a}"
    ".cap{border-top:2px solid #3d5a80;margin-top:1.5rem}pre.src{font:13px ui-monospace,"
    "monospace}pre.src a{display:block;white-space:pre-wrap}pre.src a:target{background:#fff3b0}"
    ".m{text-align:center}"
)


def render_site(site: Site, sources: Mapping[str, list[str]]) -> dict[str, str]:
    """Relative path -> file text of every page."""
    files = {"index.html": _index(site)}
    for view in site.engines:
        files[f"engines/{view.slug}.html"] = _engine_page(view)
    for path, lines in sorted(sources.items()):
        files[source_page(path)] = _source_page(path, lines)
    return files


def source_page(path: str) -> str:
    return f"source/{path}.html"


def _link(span: Span, depth: int) -> str:
    """A link from a page `depth` folders down to the line of a spec file."""
    href = "../" * depth + source_page(span.path) + f"#L{span.line}"
    return f'<a class="src" href="{escape(href)}">{escape(span.path)}:{span.line}</a>'


def _page(title: str, body: str, depth: int) -> str:
    home = "../" * depth + "index.html"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<p><a href="{home}">Capability catalog</a></p>{body}</body></html>\n'
    )


def _index(site: Site) -> str:
    rows = "".join(
        f'<tr><td><a href="engines/{v.slug}.html">{escape(v.engine.engine_id)}</a></td>'
        f"<td>{escape(v.engine.purpose)}</td><td>{len(v.engine.capabilities)}</td>"
        f"<td>{len(v.tables)}</td><td>{_link(v.engine.span, 0)}</td></tr>"
        for v in site.engines
    )
    engines = (
        "<h1>Capability catalog</h1><h2>Engines</h2><table><tr><th>engine</th><th>purpose</th>"
        f"<th>capabilities</th><th>tables</th><th>source</th></tr>{rows}</table>"
    )
    data_map = (
        "<h2>Engines and their tables</h2><p>Solid: owns. Dashed: writes.</p>"
        + data_map_svg([v.engine.engine_id for v in site.engines], site.tables, site.data_edges)
    )
    return _page("Capability catalog", engines + data_map + _matrix(site), 0)


def _matrix(site: Site) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in site.callers)
    rows = []
    for view in site.engines:
        for cap in view.capabilities:
            cells = "".join(
                f'<td class="m">{"✓" if c in cap.capability.callers else ""}</td>'
                for c in site.callers
            )
            href = f"engines/{view.slug}.html#{cap.capability.id}"
            rows.append(
                f'<tr><td><a href="{href}"><code>{cap.capability.id}</code></a></td>{cells}</tr>'
            )
    return (
        "<h2>Who may call what</h2><table><tr><th>capability</th>"
        f"{head}</tr>{''.join(rows)}</table>"
    )


def _engine_page(view: EngineView) -> str:
    engine = view.engine
    parts = [
        f"<h1>{escape(engine.engine_id)}</h1><p>{escape(engine.purpose)}</p>"
        f"<p>{_link(engine.span, 1)}</p>"
    ]
    for lifecycle in view.lifecycles:
        parts.append(
            f"<h2>Lifecycle {escape(lifecycle.name)}</h2><p>{_link(lifecycle.span, 1)}</p>"
            + lifecycle_svg(lifecycle)
        )
    parts.append("<h2>Capabilities</h2>")
    parts += [_capability(cap) for cap in view.capabilities]
    if view.tables:
        parts.append("<h2>Tables</h2>")
        parts += [_table(table) for table in view.tables]
    for note in engine.notes:
        lines = "".join(f"<li>{escape(line)}</li>" for line in note.lines)
        parts.append(f"<h3>{escape(note.title)}</h3><ul>{lines}</ul><p>{_link(note.span, 1)}</p>")
    return _page(engine.engine_id, "".join(parts), 1)


def _capability(view: CapabilityView) -> str:
    cap = view.capability
    inputs, outputs = _field_rows(view.inputs), _field_rows(view.outputs)
    output = escape(cap.output.text) if cap.output else ""
    codes = ", ".join(f"<code>{c}</code>" for c in cap.reason_codes) or "none"
    keys = ", ".join(f"<code>{escape(k)}</code>" for k in view.audit_keys) or "none"
    return (
        f'<section class="cap" id="{cap.id}"><h3><code>{cap.id}</code> {escape(cap.name or "")}'
        f"</h3><p>{_link(cap.span, 1)}</p><table>"
        f"<tr><th>callers</th><td><code>{escape(cap.allowed_callers or '')}</code>: "
        f"{escape(', '.join(cap.callers))}</td></tr>"
        f"<tr><th>side effects</th><td>{escape(view.effects)}</td></tr>"
        f"<tr><th>runs as</th><td>{escape(view.operation)}</td></tr>"
        f"<tr><th>output</th><td><code>{output}</code></td></tr>"
        f"<tr><th>reason codes</th><td>{codes}</td></tr>"
        f"<tr><th>audit keys</th><td>{keys}</td></tr></table>"
        f"{_fields_table('input field', inputs)}{_fields_table('output field', outputs)}</section>"
    )


def _field_rows(rows: tuple[FieldRow, ...]) -> str:
    return "".join(
        f"<tr><td><code>{escape(f.name)}{'?' if f.optional else ''}</code></td>"
        f"<td><code>{escape(f.type)}</code></td><td>{escape(f.bounds)}</td>"
        f"<td>{escape(f.rule)}</td><td>{_link(f.span, 1)}</td></tr>"
        for f in rows
    )


def _fields_table(title: str, rows: str) -> str:
    if not rows:
        return ""
    return (
        f"<table><tr><th>{title}</th><th>type</th><th>bounds</th><th>typed by</th>"
        f"<th>source</th></tr>{rows}</table>"
    )


def _table(table: Table) -> str:
    columns = "".join(
        f"<tr><td><code>{escape(c.name)}</code></td><td><code>{escape(c.type.base)}</code> "
        f"{escape(bounds(c.type))}</td><td>{'yes' if c.nullable else 'no'}</td>"
        f"<td>{escape(c.typed_by)}</td></tr>"
        for c in table.columns
    )
    keys = [f"primary key <code>({', '.join(table.primary_key)})</code>"]
    keys += [f"unique {k.name} <code>({', '.join(k.columns)})</code>" for k in table.unique_keys]
    keys += [
        f"idempotency {k.name} <code>({', '.join(k.columns)})</code>"
        for k in table.idempotency_keys
    ]
    keys += [f"index {k.name} <code>({', '.join(k.columns)})</code>" for k in table.indexes]
    return (
        f'<section id="table-{table.name}"><h3><code>{table.name}</code> '
        f"({table.truth_type or '?'})</h3><p>{_link(table.span, 1)}</p>"
        f"<p>{escape(table.description)}</p><table><tr><th>column</th><th>type</th>"
        f"<th>nullable</th><th>typed by</th></tr>{columns}</table>"
        f"<ul>{''.join(f'<li>{k}</li>' for k in keys)}</ul></section>"
    )


def _source_page(path: str, lines: list[str]) -> str:
    depth = path.count("/") + 1
    body = "".join(
        f'<a id="L{n}" href="#L{n}">{n:>4}  {escape(line)}</a>'
        for n, line in enumerate(lines, start=1)
    )
    return _page(path, f'<h1><code>{escape(path)}</code></h1><pre class="src">{body}</pre>', depth)
