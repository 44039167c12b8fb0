"""What build writes, Python compiles: every generated module is parsed, and no name is bound
twice in one scope (an import shadowed by a class, a field by another), before anything is
written. The emitters are built so that neither happens; this is the lock behind them, and a
problem it finds is located at the spec line the code came from (its `# source:` comment).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.span import Span

_SOURCE = re.compile(r"#\s*source:\s*(?P<path>\S+?):(?P<line>\d+)")


def verify(contents: Mapping[str, bytes], diagnostics: Diagnostics) -> None:
    """Report every generated Python module that would not compile or shadows a name."""
    for path, data in sorted(contents.items()):
        if path.endswith(".py"):
            for line, problem in problems(data.decode("utf-8")):
                diagnostics.report(
                    Code.UNCOMPILABLE_OUTPUT,
                    _origin(data.decode("utf-8"), line, path),
                    f"generated {path} line {line} {problem}: the spec text there cannot be "
                    "emitted as written",
                )


def problems(source: str) -> list[tuple[int, str]]:
    """(line, problem) for a module that would not compile, or binds a name twice."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return [(error.lineno or 1, f"would not compile ({error.msg})")]
    found = _twice(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            found += _twice(node.body)
    return found


def _twice(body: Iterable[ast.stmt]) -> list[tuple[int, str]]:
    seen: dict[str, int] = {}
    found = []
    for statement in body:
        for name in _bound(statement):
            if name in seen:
                found.append(
                    (statement.lineno, f"binds {name!r} again (first at line {seen[name]})")
                )
            else:
                seen[name] = statement.lineno
    return found


def _bound(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in statement.names]
    if isinstance(statement, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return [statement.name]
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    if isinstance(statement, ast.Assign):
        return [t.id for t in statement.targets if isinstance(t, ast.Name)]
    return []


def _origin(source: str, line: int, path: str) -> Span:
    """The spec line a generated line came from: the nearest `# source:` above it (else the
    generated file itself)."""
    lines = source.splitlines()
    for text in reversed(lines[: max(line, 1)]):
        match = _SOURCE.search(text)
        if match:
            at = int(match.group("line"))
            return Span(match.group("path"), at, 1, at, 1)
    return Span(path, line, 1, line, 1)
