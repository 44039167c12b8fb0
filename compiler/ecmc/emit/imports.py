"""The imports of one generated module, recorded while its code is built.

Code that places a name in a module asks this collector for it, and gets back the name to
write; the module's import block is then exactly what its code uses, sorted and grouped as
ruff's isort rules want (future, standard library, third party, the generated package; plain
`import` lines before `from` lines; names constants first, then classes, then the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecmc.emit.layout import LINE_LIMIT, Atom, Group, render

_STANDARD_LIBRARY = frozenset({"enum", "typing"})


@dataclass
class Imports:
    package: str
    """The generated package: its modules sort last, as first-party code."""
    future: bool = False
    plain: set[tuple[str, str]] = field(default_factory=set)
    """`import module as alias`."""
    names: dict[str, set[str]] = field(default_factory=dict)
    """`from module import name`."""
    aliased: set[tuple[str, str, str]] = field(default_factory=set)
    """`from module import name as alias`, one per line as isort keeps them."""

    def module(self, module: str, alias: str) -> str:
        self.plain.add((module, alias))
        return alias

    def name(self, module: str, name: str, alias: str | None = None) -> str:
        if alias is None:
            self.names.setdefault(module, set()).add(name)
            return name
        self.aliased.add((module, name, alias))
        return alias

    def render(self) -> str:
        """The import block, sections separated by one blank line."""
        sections: list[list[str]] = [[], [], [], []]
        if self.future:
            sections[0].append("from __future__ import annotations")
        for module, alias in sorted(self.plain):
            line = f"import {module}" if module == alias else f"import {module} as {alias}"
            sections[self._section(module)].append(line)
        froms: list[tuple[str, str, str]] = [
            (module, _name_key(names), _from_line(module, sorted(names, key=_name_order)))
            for module, names in self.names.items()
        ]
        froms.extend(
            (module, _name_order(name)[1], f"from {module} import {name} as {alias}")
            for module, name, alias in self.aliased
        )
        for module, _, line in sorted(froms):
            sections[self._section(module)].append(line)
        return "\n\n".join("\n".join(lines) for lines in sections if lines)

    def _section(self, module: str) -> int:
        top = module.split(".", 1)[0]
        if top in _STANDARD_LIBRARY:
            return 1
        return 3 if top == self.package else 2


def _name_order(name: str) -> tuple[int, str]:
    """isort's order by type: CONSTANTS, then Classes, then everything else."""
    if name.isupper() and len(name) > 1:
        return 0, name
    return (1, name) if name[:1].isupper() else (2, name)


def _name_key(names: set[str]) -> str:
    return min(_name_order(n) for n in names)[1]


def _from_line(module: str, names: list[str]) -> str:
    """`from m import a, b`, parenthesised and exploded only when it does not fit."""
    one_line = f"from {module} import {', '.join(names)}"
    if len(one_line) <= LINE_LIMIT:
        return one_line
    return render(Group(f"from {module} import ", "(", tuple(Atom(n) for n in names), ")"))
