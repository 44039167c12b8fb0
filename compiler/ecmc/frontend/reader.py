"""Stage 1, read: find spec files, read their bytes, digest them, decode them safely."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from blake3 import blake3

from ecmc.codes import Code
from ecmc.diagnostics import Diagnostics
from ecmc.span import Span

# Real ECM specs are a few KB; past this a file is not a spec, and parsing it would only burn time.
MAX_SPEC_BYTES = 1024 * 1024
SPEC_SUFFIX = ".md"

# Bytes that never occur in Markdown text: the C0 controls other than tab, newline, FF and CR.
_BINARY_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D}


@dataclass(frozen=True, slots=True)
class SpecFile:
    path: str
    """Display path: relative to the working directory when under it, always with `/`."""
    digest: str
    text: str | None
    """Decoded text with newlines normalised to `\\n`, or None when the bytes are not a spec."""

    @property
    def lines(self) -> list[str]:
        return [] if self.text is None else self.text.split("\n")


class SpecPathError(Exception):
    """A path given on the command line does not exist: a usage error, not a diagnostic."""


def display_path(path: Path, base: Path | None = None) -> str:
    """The path as the user gave it, relative to `base` (default: the working directory)
    when under it. Symlinks are not followed: a diagnostic names the file the user named.
    """
    try:
        return path.absolute().relative_to((base or Path.cwd()).absolute()).as_posix()
    except ValueError:
        return path.as_posix()


def find_spec_files(paths: list[Path]) -> list[Path]:
    """Files given directly are taken as they are; directories are searched for `*.md`.

    A file reached twice (named twice, or through a symlink) is read once.
    """
    found: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.rglob(f"*{SPEC_SUFFIX}")):
                if candidate.is_file():
                    found.setdefault(candidate.resolve(), candidate)
        elif path.is_file():
            found.setdefault(path.resolve(), path)
        else:
            raise SpecPathError(f"no such file or directory: {path}")
    return list(found.values())


def decode_spec(path: str, data: bytes, diagnostics: Diagnostics) -> SpecFile:
    digest = blake3(data).hexdigest()
    start = Span.point(path, 1, 1)
    if len(data) > MAX_SPEC_BYTES:
        diagnostics.report(
            Code.FILE_TOO_LARGE,
            start,
            f"file is {len(data)} bytes; specs are limited to {MAX_SPEC_BYTES}",
        )
        return SpecFile(path, digest, None)
    binary_at = next((i for i, byte in enumerate(data) if byte in _BINARY_BYTES), None)
    if binary_at is not None:
        line, col = _line_col_of_byte(data, binary_at)
        diagnostics.report(
            Code.BINARY_FILE,
            Span.point(path, line, col),
            f"binary byte 0x{data[binary_at]:02x} at offset {binary_at}; a spec is Markdown text",
        )
        return SpecFile(path, digest, None)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, col = _line_col_of_byte(data, error.start)
        diagnostics.report(
            Code.NOT_UTF8,
            Span.point(path, line, col),
            f"invalid UTF-8 byte 0x{data[error.start]:02x} at offset {error.start}",
        )
        return SpecFile(path, digest, None)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        diagnostics.report(
            Code.EMPTY_FILE, start, "file is empty; expected an ECM or companion spec"
        )
        return SpecFile(path, digest, None)
    return SpecFile(path, digest, text)


def read_spec(path: Path, diagnostics: Diagnostics, base: Path | None = None) -> SpecFile:
    shown = display_path(path, base)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SpecPathError(f"cannot read {shown}: {os.strerror(error.errno or 0)}") from error
    return decode_spec(shown, data, diagnostics)


def _line_col_of_byte(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, col
