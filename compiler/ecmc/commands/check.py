"""`ecmc check`: is the generated package exactly what `ecmc build` would write?

Fast path, for local use: the spec files, the compiler and every output file hash to what the
manifest recorded, and the package holds no other file: nothing to parse. The manifest is a
file in the repository, so whoever edits a generated file can write its new digest there
too: strict (`--strict`, or in CI, where `CI` is set) every file is rendered in memory from
the specs and compared with the disk, whatever the manifest says.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ecmc.config import Config
from ecmc.frontend.reader import display_path, find_spec_files
from ecmc.write.manifest import (
    MANIFEST_NAME,
    digest_file,
    generator_digest,
    load_manifest,
    package_files,
)

if TYPE_CHECKING:
    from ecmc.commands.build import CompiledProject

MAX_DIFF_LINES = 60


@dataclass(frozen=True, slots=True)
class Drift:
    path: str
    kind: str  # missing | extra | stale | hand-edited
    diff: str = ""


@dataclass
class DriftReport:
    drifts: list[Drift] = field(default_factory=list)
    project: CompiledProject | None = None
    fast: bool = False


def up_to_date_without_parsing(config: Config) -> bool:
    manifest = load_manifest(config.out)
    if manifest is None or manifest.package != config.package:
        return False
    if not config.specs.is_dir() or manifest.generator != generator_digest():
        return False
    specs = {
        display_path(path, config.root): digest_file(path)
        for path in find_spec_files([config.specs])
    }
    if specs != manifest.inputs:
        return False
    if package_files(config.out, config.package) != sorted(manifest.outputs):
        return False
    return all(
        digest_file(config.out / path) == output.digest for path, output in manifest.outputs.items()
    )


def strict_by_default() -> bool:
    """Whether a check rebuilds whatever the manifest says: in CI (`CI` set, as every CI
    service sets it)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def check(config: Config, *, strict: bool = False) -> DriftReport:
    if not strict and up_to_date_without_parsing(config):
        return DriftReport(fast=True)
    # Only now the parser, the templates and their libraries are loaded.
    from ecmc.commands.build import compile_project
    from ecmc.write.writer import manifest_for, render_all

    project = compile_project(config)
    report = DriftReport(project=project)
    if project.result.has_errors:
        return report
    contents = render_all(project.planned)
    manifest = manifest_for(
        project.planned, contents, project.inputs, project.generator, config.package
    )
    contents[MANIFEST_NAME] = manifest.dumps().encode()
    recorded = load_manifest(config.out)
    # Code first, the manifest last: the code diff is the one a reader wants.
    for path, expected in sorted(contents.items(), key=lambda i: (i[0] == MANIFEST_NAME, i[0])):
        target = config.out / path
        if not target.is_file():
            report.drifts.append(Drift(path, "missing"))
            continue
        actual = target.read_bytes()
        if actual == expected:
            continue
        output = recorded.outputs.get(path) if recorded else None
        edited = output is None or digest_file(target) != output.digest
        kind = "hand-edited" if edited and path != MANIFEST_NAME else "stale"
        report.drifts.append(Drift(path, kind, _diff(path, actual, expected)))
    for path in package_files(config.out, config.package):
        if path not in contents:
            report.drifts.append(Drift(path, "extra"))
    return report


def _diff(path: str, actual: bytes, expected: bytes) -> str:
    lines = list(
        difflib.unified_diff(
            actual.decode("utf-8", errors="replace").splitlines(keepends=True),
            expected.decode("utf-8", errors="replace").splitlines(keepends=True),
            fromfile=f"{path} (on disk)",
            tofile=f"{path} (ecmc build)",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        hidden = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... and {hidden} more diff lines\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def describe(drift: Drift, out_dir: Path) -> str:
    where = (out_dir / drift.path).as_posix()
    meaning = {
        "missing": "is missing",
        "extra": "is not produced by the specs (an extra file)",
        "stale": "is out of date with the specs",
        "hand-edited": "was edited by hand",
    }[drift.kind]
    return f"{where}: {meaning}"
