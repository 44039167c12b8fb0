"""The old side of a diff: the project's specs at a git revision, or in a directory.

Specs at a revision are read with `git show`, never checked out, so the working tree is not
touched; paths keep their place relative to the project root, so locations read the same on
both sides.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ecmc.config import Config, load_config
from ecmc.pipeline import FrontendResult, compile_paths, compile_texts

MAIN_BRANCHES = ("origin/main", "main", "origin/master", "master")


class BaseError(Exception):
    """The base cannot be read (not a revision, not a directory, no git)."""


def default_base(root: Path) -> str:
    """The merge base of HEAD with the main branch (HEAD itself when nothing else is found)."""
    for branch in MAIN_BRANCHES:
        done = _git(root, "merge-base", "HEAD", branch, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return "HEAD"


def load_base(base: str, config: Config) -> FrontendResult:
    """Compile the specs of `base`: a directory (a project, or a specs directory) or a git
    revision of the project's repository."""
    directory = Path(base)
    if directory.is_dir():
        other = load_config(directory)
        specs = other.specs if other.specs.is_dir() else directory
        return compile_paths([specs], base=other.root if specs != directory else directory.parent)
    return compile_texts(dict(_texts_at(base, config)))


def _texts_at(revision: str, config: Config) -> dict[str, bytes]:
    top = Path(_git(config.root, "rev-parse", "--show-toplevel").stdout.strip())
    specs = config.specs.resolve().relative_to(top.resolve()).as_posix()
    root = config.root.resolve().relative_to(top.resolve()).as_posix()
    listed = _git(top, "ls-tree", "-r", "--name-only", revision, "--", specs).stdout.split("\n")
    texts: dict[str, bytes] = {}
    for path in (p for p in listed if p.endswith(".md")):
        shown = path if root == "." else path.removeprefix(root + "/")
        texts[shown] = _git_bytes(top, "show", f"{revision}:{path}")
    if not texts:
        raise BaseError(f"no spec files under {specs} at {revision}")
    return texts


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as error:
        raise BaseError(f"git is not available: {error}") from None
    if check and done.returncode != 0:
        raise BaseError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done


def _git_bytes(cwd: Path, *args: str) -> bytes:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    if done.returncode != 0:
        raise BaseError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
