"""Pictures drawn from the IR as SVG text: a lifecycle as a state diagram, and the map of
engines and the tables they own and write. Deterministic: positions follow the specs' order.

Every node and edge carries `data-*` attributes naming what it draws, so a test (or a
script) can read the diagram's graph back out of the SVG.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from ecmc.ir import Lifecycle, Transition

_NODE_W, _NODE_H, _COL, _ROW, _PAD = 180, 40, 420, 84, 40
_LEAD = 240
"""Room between the start dot and the first state, for the first action's label."""
_STYLE = (
    "<style>text{font:13px sans-serif;fill:#1b1f24}.label{font-size:11px;fill:#394150}"
    ".node rect{fill:#f3f6fa;stroke:#3d5a80;stroke-width:1.5}"
    ".final rect.outer{fill:none;stroke:#3d5a80;stroke-width:1.5}"
    ".edge path{fill:none;stroke:#3d5a80;stroke-width:1.3}"
    ".writes path{stroke-dasharray:5 4;stroke:#a23b3b}"
    ".start{fill:#1b1f24}</style>"
)
_ARROW = (
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
    'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
    'fill="#3d5a80"/></marker></defs>'
)


@dataclass(frozen=True, slots=True)
class _Box:
    x: int
    y: int

    @property
    def left(self) -> tuple[int, int]:
        return self.x, self.y + _NODE_H // 2

    @property
    def right(self) -> tuple[int, int]:
        return self.x + _NODE_W, self.y + _NODE_H // 2


def lifecycle_svg(lifecycle: Lifecycle) -> str:
    """States in columns by their longest distance from the start, so every arrow but a
    loop runs left to right; arrows between neighbouring columns are straight, longer ones
    bow under the states at heights of their own. Each arrow says its action and the reason
    code it answers; final states are drawn double."""
    depth = _depths(lifecycle)
    columns: dict[int, list[str]] = {}
    for state in lifecycle.states:
        columns.setdefault(depth[state], []).append(state)
    boxes = {
        state: _Box(_PAD + _LEAD + column * _COL, _PAD + 20 + row * _ROW)
        for column, states in columns.items()
        for row, state in enumerate(states)
    }
    floor = _PAD + 20 + max(len(states) for states in columns.values()) * _ROW
    edges, bows = [], 0
    start = (_PAD, _PAD + 20 + _NODE_H // 2)
    for transition in lifecycle.transitions:
        label = (transition.action, transition.reason_code or "")
        target = boxes[transition.to_state]
        for source in transition.from_states or ("",):
            near = not source or depth[transition.to_state] == depth[source] + 1
            if near:
                begin = boxes[source].right if source else start
                edges.append(_straight(begin, target.left, label, source, transition))
            else:
                edges.append(
                    _bow(boxes[source], target, floor + 24 + 34 * bows, label, source, transition)
                )
                bows += 1
    width = _PAD * 2 + _LEAD + max(columns) * _COL + _NODE_W
    parts = [_open(width, floor + 40 + 34 * bows, f"lifecycle {lifecycle.name}")]
    parts.append(f'<circle class="start" cx="{start[0]}" cy="{start[1]}" r="7"/>')
    parts += edges
    parts += [_node(state, box, state in lifecycle.final_states) for state, box in boxes.items()]
    parts.append("</svg>")
    return "".join(parts) + "\n"


def _depths(lifecycle: Lifecycle) -> dict[str, int]:
    """The longest path from the start to each state (loops do not lengthen it)."""
    depth = {t.to_state: 0 for t in lifecycle.transitions if not t.from_states}
    for _ in lifecycle.states:
        changed = False
        for transition in lifecycle.transitions:
            for source in transition.from_states:
                if source in depth and transition.to_state != source:
                    proposed = depth[source] + 1
                    if proposed > depth.get(transition.to_state, -1) and proposed < len(
                        lifecycle.states
                    ):
                        depth[transition.to_state] = proposed
                        changed = True
        if not changed:
            break
    last = max(depth.values(), default=-1) + 1
    return {state: depth.get(state, last) for state in lifecycle.states}


def _straight(
    begin: tuple[int, int],
    end: tuple[int, int],
    label: tuple[str, str],
    source: str,
    transition: Transition,
) -> str:
    (x1, y1), (x2, y2) = begin, end
    mid_x, mid_y = (x1 + x2) // 2, (y1 + y2) // 2
    return _edge_group(f"M{x1},{y1} L{x2},{y2}", label, mid_x, mid_y - 18, source, transition)


def _bow(
    begin: _Box,
    end: _Box,
    dip: int,
    label: tuple[str, str],
    source: str,
    transition: Transition,
) -> str:
    x1, y1 = begin.x + _NODE_W // 2, begin.y + _NODE_H
    x2, y2 = end.x + _NODE_W // 3, end.y + _NODE_H
    lowest = (y1 + y2 + 6 * dip) // 8
    path = f"M{x1},{y1} C{x1},{dip} {x2},{dip} {x2},{y2}"
    return _edge_group(path, label, (x1 + x2) // 2, lowest + 2, source, transition)


def _edge_group(
    path: str, label: tuple[str, str], x: int, y: int, source: str, transition: Transition
) -> str:
    action, code = label
    second = f'<tspan x="{x}" dy="13">({escape(code)})</tspan>' if code else ""
    return (
        f'<g class="edge" data-from={quoteattr(source or "START")} '
        f"data-to={quoteattr(transition.to_state)} data-action={quoteattr(transition.action)}>"
        f'<path d="{path}" marker-end="url(#arrow)"/>'
        f'<text class="label" x="{x}" y="{y}" text-anchor="middle">{escape(action)}{second}'
        "</text></g>"
    )


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>'
        + _STYLE
        + _ARROW
    )


def _node(name: str, box: _Box, final: bool) -> str:
    outer = (
        f'<rect class="outer" x="{box.x - 4}" y="{box.y - 4}" width="{_NODE_W + 8}" '
        f'height="{_NODE_H + 8}" rx="10"/>'
        if final
        else ""
    )
    kind = "node final" if final else "node"
    return (
        f'<g class="{kind}" data-name={quoteattr(name)}>{outer}'
        f'<rect x="{box.x}" y="{box.y}" width="{_NODE_W}" height="{_NODE_H}" rx="7"/>'
        f'<text x="{box.x + _NODE_W // 2}" y="{box.y + 25}" text-anchor="middle">'
        f"{escape(name)}</text></g>"
    )


def _edge(
    begin: tuple[int, int],
    end: tuple[int, int],
    label: str,
    index: int,
    source: str,
    target: str,
    action: str,
    kind: str = "edge",
) -> str:
    (x1, y1), (x2, y2) = begin, end
    # A backward or same-column edge bows out; parallel edges spread by their index.
    bend = 30 + 14 * (index % 4) if x2 <= x1 else 0
    mid_x, mid_y = (x1 + x2) // 2, (y1 + y2) // 2 - bend
    path = f"M{x1},{y1} Q{mid_x},{mid_y - bend} {x2},{y2}" if bend else f"M{x1},{y1} L{x2},{y2}"
    label_y = mid_y - bend // 2 - 4 - (6 * (index % 3) if not bend else 0)
    return (
        f'<g class="{kind}" data-from={quoteattr(source)} data-to={quoteattr(target)} '
        f"data-action={quoteattr(action)}>"
        f'<path d="{path}" marker-end="url(#arrow)"/>'
        f'<text class="label" x="{mid_x}" y="{label_y}" text-anchor="middle">'
        f"{escape(label)}</text></g>"
    )


def data_map_svg(
    engines: Iterable[str], tables: Iterable[str], edges: Iterable[tuple[str, str, str]]
) -> str:
    """Engines on the left, tables on the right; `owns` edges solid, `writes` dashed."""
    engine_list, table_list = list(engines), list(tables)
    left = {name: _Box(_PAD, _PAD + i * 56) for i, name in enumerate(engine_list)}
    right = {name: _Box(_PAD + 460, _PAD + i * 56) for i, name in enumerate(table_list)}
    height = _PAD * 2 + max(len(engine_list), len(table_list), 1) * 56
    parts = [_open(_PAD * 2 + 460 + _NODE_W, height, "engines and the tables they own and write")]
    for index, (engine, relation, table) in enumerate(edges):
        if engine in left and table in right:
            parts.append(
                _edge(
                    left[engine].right,
                    right[table].left,
                    "",
                    index,
                    engine,
                    table,
                    relation,
                    kind=f"edge {relation}",
                )
            )
    parts += [_node(name, box, False) for name, box in left.items()]
    parts += [_node(name, box, False) for name, box in right.items()]
    parts.append("</svg>")
    return "".join(parts) + "\n"
