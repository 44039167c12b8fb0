"""`ecmc lint` and `ecmc inspect`: the front end over the named spec files (or the project's
specs directory), with the project's specs as context for single files."""

from __future__ import annotations

import json
from pathlib import Path

from ecmc.config import Config
from ecmc.frontend.reader import SpecPathError
from ecmc.pipeline import FrontendResult, compile_paths


def run_frontend(config: Config, paths: tuple[Path, ...]) -> FrontendResult:
    """Diagnostics and IR of `paths`, read against the project's specs; raises SpecPathError
    when there is nothing to read."""
    if paths:
        context = [config.specs] if config.specs.is_dir() else []
        return compile_paths(list(paths), context)
    if not config.specs.is_dir():
        raise SpecPathError(f"no specs directory at {config.specs}")
    return compile_paths([config.specs])


def failing(result: FrontendResult, fail_on_warning: bool) -> bool:
    return result.has_errors or (fail_on_warning and bool(result.diagnostics))


def inspect_json(result: FrontendResult) -> str:
    """The capability IR with its diagnostics, as `ecmc inspect` prints it."""
    return json.dumps(result.as_json(), indent=2, ensure_ascii=False)
