"""`ecmc audit`: keys, signed checkpoints, verification and inclusion proofs of the ledgers'
chains (ecm_runtime.chain, chain_check, checkpoints). Exit codes: 0 verified, 1 findings,
2 usage (a key that cannot be read, a database that cannot be opened).

These commands read a database, so they load the runtime and the generated package when
they run, never when the command line starts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from ecm_runtime.chain_check import Chain, Finding

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
_URL = click.option("--url", required=True, help="The database, as a SQLAlchemy URL.")
_PACKAGE = click.option(
    "--package", help="The generated package (default: the project's [tool.ecmc] package)."
)
_PUBLIC = click.option(
    "--public-key",
    "public_key",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The checkpoints' public key (public.key from `ecmc audit keygen`).",
)
_CHECKPOINTS = click.option(
    "--checkpoints",
    "directory",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The folder the checkpoints are kept in.",
)


@click.group()
def audit() -> None:
    """Chained ledgers: keys, signed checkpoints, verification, inclusion proofs."""


def _usage(message: str) -> NoReturn:
    click.echo(f"ecmc: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


@audit.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--name", default="ecmc-audit", show_default=True, help="The key's name.")
def keygen(directory: Path, name: str) -> None:
    """Write a new Ed25519 key pair: DIRECTORY/signing.key and DIRECTORY/public.key."""
    from ecm_runtime.checkpoints import CheckpointError
    from ecm_runtime.checkpoints import keygen as generate

    try:
        secret, public = generate(directory, name)
    except (CheckpointError, OSError) as error:
        _usage(str(error))
    click.echo(f"ecmc: wrote {secret} (keep it away from the database) and {public}")


def _chains(url: str, package: str | None) -> list[Chain]:
    from ecm_runtime.chain_check import ledgers, snapshot
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from ecmc.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as error:
        _usage(str(error))
    if str(config.out) not in sys.path and config.out.is_dir():
        sys.path.insert(0, str(config.out))
    name = package or config.package
    try:
        tables = ledgers(name)
    except ImportError as error:
        _usage(f"cannot import the generated package {name!r}: {error}")
    try:
        return snapshot(url, tables)
    except (ArgumentError, SQLAlchemyError) as error:
        _usage(f"cannot read the ledgers at {url}: {str(error).splitlines()[0]}")


def _key(load: Any, path: Path) -> Any:
    from ecm_runtime.checkpoints import CheckpointError

    try:
        return load(path)
    except CheckpointError as error:
        _usage(str(error))


@audit.command()
@_URL
@click.option(
    "--key",
    "signing_key",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The signing key (signing.key from `ecmc audit keygen`).",
)
@click.option(
    "--out",
    "directory",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The folder to keep the checkpoints in, outside the database.",
)
@_PACKAGE
def checkpoint(url: str, signing_key: Path, directory: Path, package: str | None) -> None:
    """Sign each chain's tree head; refused while anything fails to verify."""
    from ecm_runtime.chain_check import Unverified
    from ecm_runtime.chain_check import checkpoint as sign
    from ecm_runtime.checkpoints import load_signer

    signer = _key(load_signer, signing_key)
    try:
        written = sign(_chains(url, package), directory, signer)
    except Unverified as refused:
        _report(refused.findings, "human")
        click.echo("ecmc: no checkpoint written: the log does not verify", err=True)
        sys.exit(EXIT_FINDINGS)
    for path in written:
        click.echo(f"ecmc: wrote {path}")
    click.echo(f"ecmc: {len(written)} checkpoint(s) written")


@audit.command()
@_URL
@_PUBLIC
@_CHECKPOINTS
@_PACKAGE
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="One located line per finding, or a JSON object of findings and counts.",
)
def verify(url: str, public_key: Path, directory: Path, package: str | None, fmt: str) -> None:
    """Check every chain row by row, and against every checkpoint."""
    from ecm_runtime.chain_check import check_checkpoints
    from ecm_runtime.checkpoints import load_verifier

    verifier = _key(load_verifier, public_key)
    chains = _chains(url, package)
    findings = [f for c in chains for f in c.findings]
    findings += check_checkpoints(chains, directory, verifier)
    unchained = sum(c.unchained for c in chains)
    counts = {"rows": sum(len(c.rows) for c in chains), "chains": len(chains)}
    _report(findings, fmt, **counts, unchained=unchained)
    sys.exit(EXIT_FINDINGS if findings else EXIT_CLEAN)


def _report(findings: list[Finding], fmt: str, **counts: int) -> None:
    if fmt == "json":
        click.echo(json.dumps({"findings": [f.json() for f in findings], **counts}, indent=2))
        return
    for finding in findings:
        click.echo(finding.line())
    if counts:
        verdict = f"{len(findings)} finding(s)" if findings else "verified"
        click.echo(f"ecmc: {counts['chains']} chain(s), {counts['rows']} row(s): {verdict}")
        if counts.get("unchained"):
            click.echo(
                f"ecmc: {counts['unchained']} row(s) predate their ledger's chain and are not "
                "covered by it"
            )


@audit.command()
@click.argument("event_id", type=int)
@_URL
@_PUBLIC
@_CHECKPOINTS
@_PACKAGE
@click.option(
    "--ledger", help="The ledger the row is in (default: the one whose sequence is event_id)."
)
def prove(
    event_id: int,
    url: str,
    public_key: Path,
    directory: Path,
    package: str | None,
    ledger: str | None,
) -> None:
    """Print an inclusion proof of one row that a third party checks with the public key
    alone (`ecmc audit check-proof`, or any RFC 6962 verifier)."""
    from ecm_runtime.chain_check import prove as make
    from ecm_runtime.checkpoints import load_verifier
    from ecm_runtime.facts import facts

    verifier = _key(load_verifier, public_key)
    chains = _chains(url, package)
    tables = {c.table.name: c.table for c in chains}
    named = [t for t in tables.values() if facts(t).numbered == "event_id"]
    table = tables.get(ledger) if ledger else (named[0] if len(named) == 1 else None)
    if table is None:
        _usage(f"name the ledger with --ledger (one of {', '.join(sorted(tables)) or 'none'})")
    try:
        proof = make(chains, table, event_id, directory, verifier)
    except LookupError as error:
        click.echo(f"ecmc: error: {error.args[0]}", err=True)
        sys.exit(EXIT_FINDINGS)
    click.echo(json.dumps(proof, indent=2))


@audit.command()
@click.argument("origin")
@click.argument("old_size", type=int)
@_URL
@_PUBLIC
@_CHECKPOINTS
@_PACKAGE
def consistency(
    origin: str, old_size: int, url: str, public_key: Path, directory: Path, package: str | None
) -> None:
    """Print a proof that a chain's latest checkpoint extends its checkpoint of OLD_SIZE rows
    (ORIGIN as a checkpoint's first line says it: LEDGER/CHAIN)."""
    from ecm_runtime.chain_check import prove_consistency
    from ecm_runtime.checkpoints import load_verifier

    verifier = _key(load_verifier, public_key)
    try:
        proof = prove_consistency(_chains(url, package), origin, old_size, directory, verifier)
    except LookupError as error:
        click.echo(f"ecmc: error: {error.args[0]}", err=True)
        sys.exit(EXIT_FINDINGS)
    click.echo(json.dumps(proof, indent=2))


@audit.command("check-proof")
@click.argument("proof_file", type=click.Path(path_type=Path, dir_okay=False))
@_PUBLIC
def check_proof(proof_file: Path, public_key: Path) -> None:
    """Check a proof from `ecmc audit prove` or `consistency` with the public key alone."""
    from ecm_runtime.chain_check import check_proof as check
    from ecm_runtime.checkpoints import load_verifier

    verifier = _key(load_verifier, public_key)
    try:
        proof = json.loads(proof_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        _usage(f"{proof_file}: cannot be read as JSON ({error})")
    problem = check(proof, verifier) if isinstance(proof, dict) else "not a proof object"
    if problem is not None:
        click.echo(f"{proof_file}: error[proof bad]: {problem}")
        sys.exit(EXIT_FINDINGS)
    if "consistency" in proof:
        click.echo(f"ecmc: {proof_file}: {proof['origin']}'s later checkpoint extends the earlier")
        return
    click.echo(f"ecmc: {proof_file}: leaf {proof['index']} of {proof['origin']} is checkpointed")
