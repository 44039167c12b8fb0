"""The old side of a diff: the project's specs at a git revision, or in a directory.

Specs at a revision are read with `git show`, never checked out, so the working tree is not
touched; paths keep their place relative to the project root, so locations read the same on
both sides.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ecmc.config import Config, ConfigError, load_config
from ecmc.frontend.reader import find_spec_files
from ecmc.pipeline import FrontendResult, compile_paths, compile_texts

MAIN_BRANCHES = ("origin/main", "main", "origin/master", "master")


class BaseError(Exception):
    """The base cannot be read (not a revision, not a directory, no git)."""


def default_base(root: Path) -> str:
    """The merge base of HEAD with the main branch. Fails closed: with no main branch, or a
    history too shallow to hold the merge base, there is nothing to compare against, and
    comparing HEAD with itself would pass any change."""
    found = [
        b
        for b in MAIN_BRANCHES
        if _git(root, "rev-parse", "--verify", "-q", b, check=False).returncode == 0
    ]
    for branch in found:
        done = _git(root, "merge-base", "HEAD", branch, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    shallow = _git(root, "rev-parse", "--is-shallow-repository", check=False).stdout.strip()
    if found and shallow == "true":
        raise BaseError(
            f"the clone is shallow and holds no merge base with {found[0]}: fetch more "
            "history (`git fetch --unshallow`, or `fetch-depth: 0` in CI) or name BASE"
        )
    if found:
        raise BaseError(f"HEAD has no merge base with {found[0]}: name BASE")
    raise BaseError(
        f"no main branch to compare against ({', '.join(MAIN_BRANCHES)}): name BASE, a git "
        "revision or a directory of specs"
    )


def load_base(base: str, config: Config) -> FrontendResult:
    """Compile the specs of `base`: a directory (a project, or a specs directory) or a git
    revision of the project's repository. A base without a spec is an error: an empty old
    side would make every spec new."""
    directory = Path(base)
    if directory.is_dir():
        try:
            other = load_config(directory)
        except ConfigError as error:
            raise BaseError(str(error)) from None
        specs = other.specs if other.specs.is_dir() else directory
        if not find_spec_files([specs]):
            raise BaseError(f"the base directory {directory} holds no spec (*.md) file")
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
