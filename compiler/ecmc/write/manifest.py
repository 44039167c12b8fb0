"""The build manifest: BLAKE3 digests of every input spec and every output file.

It sits beside the generated package (`<out>/ecmc-manifest.json`). `ecmc check` compares the
disk against it to answer "nothing changed" without parsing a single spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import ecm_contract
from blake3 import blake3

import ecmc

MANIFEST_NAME = "ecmc-manifest.json"
_IGNORED_DIRS = frozenset({"__pycache__"})


@dataclass(frozen=True, slots=True)
class Output:
    digest: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Manifest:
    generator: str
    package: str
    inputs: dict[str, str]
    outputs: dict[str, Output]

    def dumps(self) -> str:
        data = {
            "generator": self.generator,
            "package": self.package,
            "inputs": dict(sorted(self.inputs.items())),
            "outputs": {
                path: {"digest": out.digest, "fingerprint": out.fingerprint}
                for path, out in sorted(self.outputs.items())
            },
        }
        return json.dumps(data, indent=2, sort_keys=False) + "\n"


def load_manifest(out_dir: Path) -> Manifest | None:
    """The manifest on disk, or None when it is missing or not one of ours."""
    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        return Manifest(
            generator=str(data["generator"]),
            package=str(data["package"]),
            inputs={str(k): str(v) for k, v in data["inputs"].items()},
            outputs={
                str(k): Output(str(v["digest"]), str(v["fingerprint"]))
                for k, v in data["outputs"].items()
            },
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def digest_bytes(data: bytes) -> str:
    return blake3(data).hexdigest()


def digest_file(path: Path) -> str | None:
    try:
        return digest_bytes(path.read_bytes())
    except OSError:
        return None


def generator_digest() -> str:
    """A digest of the compiler and of the contract it emits for (ecm_contract: its version
    and vocabulary shape the output): a change to either makes all output stale."""
    hasher = blake3()
    for package in (ecmc, ecm_contract):
        root = Path(package.__file__ or "").parent
        for path in sorted([*root.rglob("*.py"), *root.rglob("templates/*.j2")]):
            hasher.update(f"{package.__name__}/{path.relative_to(root).as_posix()}".encode())
            # Line endings are normalised: a Windows checkout is the same compiler.
            hasher.update(b"\0" + path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return hasher.hexdigest()


def package_files(out_dir: Path, package: str) -> list[str]:
    """Files now in the generated package, relative to the output directory."""
    root = out_dir / package
    if not root.is_dir():
        return []
    return sorted(
        path.relative_to(out_dir).as_posix()
        for path in root.rglob("*")
        if path.is_file()
        and not _IGNORED_DIRS.intersection(path.relative_to(root).parts)
        and path.suffix != ".pyc"
    )
