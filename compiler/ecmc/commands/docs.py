"""`ecmc docs [--out DIR] [--format html|markdown]`: the catalog written from the compiled
specs; only files whose bytes change are rewritten, and files of an earlier run that the
catalog no longer has are removed."""

from __future__ import annotations

import os
from pathlib import Path

from ecmc.commands.build import compile_project
from ecmc.config import Config
from ecmc.docs.html import render_site
from ecmc.docs.markdown import render_markdown
from ecmc.docs.model import site
from ecmc.pipeline import FrontendResult


def render_docs(result: FrontendResult, fmt: str, root: str = "..") -> dict[str, str]:
    """`root`: the project root as the output folder sees it (Markdown links to spec lines)."""
    model = site(result.program)
    return render_site(model, result.sources) if fmt == "html" else render_markdown(model, root)


def write_docs(config: Config, out: Path, fmt: str) -> tuple[FrontendResult, int]:
    """The compiled specs and how many files were written (none when the specs have errors)."""
    result = compile_project(config).result
    if result.has_errors:
        return result, 0
    root = Path(os.path.relpath(config.root.resolve(), out.resolve())).as_posix()
    files = render_docs(result, fmt, root)
    suffix = ".html" if fmt == "html" else ".md"
    written = 0
    for old in sorted(out.rglob(f"*{suffix}")) if out.is_dir() else []:
        if old.relative_to(out).as_posix() not in files:
            old.unlink()
    for relative, text in files.items():
        target = out / relative
        data = text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written += 1
    return result, written
