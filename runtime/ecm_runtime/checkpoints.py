"""Signed checkpoints: a chain's Merkle tree head, signed with an Ed25519 key the database
never holds, kept in files outside it.

A checkpoint is a C2SP signed note (https://c2sp.org/signed-note) whose text is a C2SP
tlog checkpoint (https://c2sp.org/tlog-checkpoint): the chain's origin line, its size, its
RFC 6962 root hash in base64, then one extension line with the chain's last digest; then a
blank line and the signature line `— <key name> <base64(key id || signature)>`. The keys
are spelled as the note format's verifier and signer keys (`<name>+<key id>+<base64>`), so
the note and the key can be checked by the tools that read that format.

The Ed25519 arithmetic is the `cryptography` package's (pyca): a signature library is no
place for code of ours.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ecm_runtime.chain import parsed, spelled

_ED25519 = b"\x01"
"""The note format's signature type byte for Ed25519."""
_DASH = "\u2014"
_NAME = re.compile(r"^[^\s+]+$")
SUFFIX = ".checkpoint"


class CheckpointError(ValueError):
    """A key or checkpoint file that cannot be read, said with its path."""


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Verifier:
    name: str
    key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, _public_bytes(self.key))

    def spelled(self) -> str:
        public = _public_bytes(self.key)
        return f"{self.name}+{self.key_id.hex()}+{_b64(_ED25519 + public)}"


@dataclass(frozen=True, slots=True)
class Signer:
    name: str
    key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key.public_key())

    def spelled(self) -> str:
        seed = self.key.private_bytes_raw()
        key_id = self.verifier.key_id.hex()
        return f"PRIVATE+KEY+{self.name}+{key_id}+{_b64(_ED25519 + seed)}"


def keygen(directory: Path, name: str) -> tuple[Path, Path]:
    """A new key pair: `signing.key` (readable by its owner only) and `public.key`."""
    if not _NAME.match(name):
        raise CheckpointError(f"key name {name!r} must be non-empty, without spaces or '+'")
    directory.mkdir(parents=True, exist_ok=True)
    signer = Signer(name, Ed25519PrivateKey.generate())
    secret, public = directory / "signing.key", directory / "public.key"
    if secret.exists():
        raise CheckpointError(f"{secret}: already exists; a key is never overwritten")
    descriptor = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(signer.spelled() + "\n")
    public.write_text(signer.verifier.spelled() + "\n")
    return secret, public


def _key_parts(path: Path, text: str, fields: int) -> list[str]:
    parts = text.strip().split("+", fields - 1)  # base64 may hold a "+" itself
    if len(parts) != fields:
        raise CheckpointError(f"{path}: not a note key ({fields} fields joined by '+')")
    return parts


def _key_bytes(path: Path, name: str, key_id: str, encoded: str) -> bytes:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise CheckpointError(f"{path}: the key is not base64") from None
    if len(raw) != 33 or raw[:1] != _ED25519:
        raise CheckpointError(f"{path}: not an Ed25519 key")
    return raw[1:]


def load_signer(path: Path) -> Signer:
    parts = _key_parts(path, _read(path), 5)
    if parts[:2] != ["PRIVATE", "KEY"]:
        raise CheckpointError(f"{path}: not a signing key (PRIVATE+KEY+...)")
    signer = Signer(parts[2], Ed25519PrivateKey.from_private_bytes(_key_bytes(path, *parts[2:])))
    if signer.verifier.key_id.hex() != parts[3]:
        raise CheckpointError(f"{path}: the key id does not match the key")
    return signer


def load_verifier(path: Path) -> Verifier:
    parts = _key_parts(path, _read(path), 3)
    verifier = Verifier(parts[0], Ed25519PublicKey.from_public_bytes(_key_bytes(path, *parts)))
    if verifier.key_id.hex() != parts[1]:
        raise CheckpointError(f"{path}: the key id does not match the key")
    return verifier


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: cannot be read ({error})") from None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    """`<ledger>/<chain>`: which chain it is the head of."""
    size: int
    root: bytes
    last: bytes
    """The digest of the chain's last row it covers (chain.py)."""

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{_b64(self.root)}\nlast {spelled(self.last)}\n"

    def signed(self, signer: Signer) -> str:
        body = self.text()
        signature = signer.key.sign(body.encode())
        line = f"{_DASH} {signer.name} {_b64(signer.verifier.key_id + signature)}\n"
        return f"{body}\n{line}"


def opened(path: Path, note: str, verifier: Verifier) -> Checkpoint:
    """The checkpoint a signed note states, if the verifier's key signed it; else an error
    saying why."""
    body, separator, signatures = note.rpartition("\n\n")
    if not separator:
        raise CheckpointError(f"{path}: not a signed note (no blank line before a signature)")
    body += "\n"
    if not _signed_by(body, signatures, verifier):
        raise CheckpointError(f"{path}: checkpoint signature bad (not {verifier.name}'s)")
    lines = body.splitlines()
    if len(lines) != 4 or not lines[1].isdigit() or not lines[3].startswith("last "):
        raise CheckpointError(f"{path}: not an ecmc checkpoint (origin, size, root, last)")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise CheckpointError(f"{path}: its root hash is not base64") from None
    last = parsed(lines[3].removeprefix("last "))
    if last is None or len(root) != 32:
        raise CheckpointError(f"{path}: its hashes are not SHA-256 digests")
    return Checkpoint(lines[0], int(lines[1]), root, last)


def _signed_by(body: str, signatures: str, verifier: Verifier) -> bool:
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH or parts[1] != verifier.name:
            continue
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if raw[:4] != verifier.key_id:
            continue
        try:
            verifier.key.verify(raw[4:], body.encode())
        except InvalidSignature:
            continue
        return True
    return False


def origin(ledger: str, chain: str) -> str:
    """A chain's origin line: its ledger and chain, the chain quoted (a tenant id may hold
    any character, and the line must stay one line)."""
    return f"{ledger}/{quote(chain, safe=':')}"


def path_of(directory: Path, checkpoint: Checkpoint) -> Path:
    """Where a checkpoint is kept: one folder per chain, one file per size."""
    return directory / quote(checkpoint.origin, safe="") / f"{checkpoint.size:012d}{SUFFIX}"


def stored(directory: Path, origin: str | None = None) -> list[Path]:
    """The checkpoint files under `directory` (of one chain, given its origin), by chain and
    size."""
    if not directory.is_dir():
        return []
    folders = sorted(p for p in directory.iterdir() if p.is_dir())
    if origin is not None:
        folders = [f for f in folders if f.name == quote(origin, safe="")]
    return [path for folder in folders for path in sorted(folder.glob(f"*{SUFFIX}"))]


def write(directory: Path, checkpoint: Checkpoint, signer: Signer) -> Path:
    path = path_of(directory, checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(checkpoint.signed(signer), encoding="utf-8")
    return path
