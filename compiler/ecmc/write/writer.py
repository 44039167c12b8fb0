"""Stage 6, write: render what changed, write only what differs, record digests in the manifest.

A file whose fingerprint (the digests of the specs it is made from, and of the compiler) is
the one the manifest recorded, and whose bytes on disk are the ones the manifest recorded, is
neither rendered nor written. Files are replaced atomically; the manifest is written last.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ecmc.diagnostics import Diagnostics
from ecmc.emit.plan import PlannedFile
from ecmc.write.manifest import (
    MANIFEST_NAME,
    Manifest,
    Output,
    digest_bytes,
    digest_file,
    load_manifest,
    package_files,
)
from ecmc.write.verify import verify


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: Diagnostics = field(default_factory=Diagnostics)
    """Generated modules that would not compile: nothing was written."""


def render_all(planned: list[PlannedFile]) -> dict[str, bytes]:
    return {p.path: p.render().encode("utf-8") for p in planned}


def manifest_for(
    planned: list[PlannedFile],
    contents: dict[str, bytes],
    inputs: dict[str, str],
    generator: str,
    package: str,
) -> Manifest:
    return Manifest(
        generator=generator,
        package=package,
        inputs=inputs,
        outputs={p.path: Output(digest_bytes(contents[p.path]), p.fingerprint) for p in planned},
    )


def write_package(
    out_dir: Path,
    package: str,
    planned: list[PlannedFile],
    inputs: dict[str, str],
    generator: str,
) -> WriteReport:
    """Write what changed; nothing at all when a rendered module would not compile
    (`report.problems`, located at the spec lines the code came from)."""
    report = WriteReport()
    previous = load_manifest(out_dir)
    contents: dict[str, bytes] = {}
    fresh: dict[str, bytes] = {}
    for item in planned:
        target = out_dir / item.path
        recorded = previous.outputs.get(item.path) if previous else None
        on_disk = digest_file(target)
        if recorded and recorded.fingerprint == item.fingerprint and recorded.digest == on_disk:
            contents[item.path] = target.read_bytes()
            report.unchanged.append(item.path)
            continue
        data = item.render().encode("utf-8")
        report.rendered.append(item.path)
        contents[item.path] = data
        if on_disk == digest_bytes(data):
            report.unchanged.append(item.path)
            continue
        fresh[item.path] = data
    verify(fresh, report.problems)
    if report.problems.has_errors:
        return report
    for path, data in fresh.items():
        _replace(out_dir / path, data)
        report.written.append(path)

    wanted = {p.path for p in planned}
    for stray in package_files(out_dir, package):
        if stray not in wanted:
            (out_dir / stray).unlink()
            report.removed.append(stray)

    manifest = manifest_for(planned, contents, inputs, generator, package).dumps().encode()
    if digest_file(out_dir / MANIFEST_NAME) != digest_bytes(manifest):
        _replace(out_dir / MANIFEST_NAME, manifest)
    return report


def _replace(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; generated code is for everyone to read
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
