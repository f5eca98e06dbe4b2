"""Options `edge pki` actions share: the CA directory (outside the repository by
default) and where the CA key's passphrase comes from (a file, the file that
``EDGE_PKI_PASSPHRASE_FILE`` names, or the terminal: never the command line)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from edge.pki.paths import PASSPHRASE_ENV as ENV
from edge.pki.paths import default_ca_dir


def ca_default_help() -> str:
    """Help text of the CA directory option, naming its default."""
    return f"CA directory (default {default_ca_dir()})"


def add_ca_dir(p: argparse.ArgumentParser) -> None:
    """``--ca-dir DIR`` defaulting to :func:`~edge.pki.ca.default_ca_dir`."""
    p.add_argument("--ca-dir", type=Path, default=None, help=ca_default_help())


def add_passphrase(p: argparse.ArgumentParser, *, new: bool = False) -> None:
    """``--passphrase-file`` (and for a new CA ``--no-passphrase``)."""
    p.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help=f"the CA key's passphrase (first line; else ${ENV}, else asked on the terminal)",
    )
    if new:
        p.add_argument(
            "--no-passphrase",
            action="store_true",
            help="INSECURE, labs and tests only: leave the CA key unencrypted",
        )


def ca_dir(args: argparse.Namespace) -> Path:
    """The CA directory the command line named, or the default."""
    given: Path | None = getattr(args, "ca_dir", None) or getattr(args, "dir", None)
    return given if given is not None else default_ca_dir()


def new_key_passphrase(args: argparse.Namespace) -> bytes | None:
    """The passphrase for a new CA key; None with ``--no-passphrase``."""
    if args.no_passphrase:
        if args.passphrase_file is not None:
            raise argparse.ArgumentTypeError("--no-passphrase and --passphrase-file conflict")
        return None
    from edge.pki.passphrase import new_passphrase

    return new_passphrase(args.passphrase_file)


def key_passphrase(args: argparse.Namespace, directory: Path) -> Callable[[], bytes | None]:
    """A call that returns the CA key's passphrase when its key is encrypted (asked only
    then, and once), None when it is not."""
    from edge.pki.ca import CA_KEY, is_encrypted
    from edge.pki.passphrase import get_passphrase

    got: list[bytes | None] = []

    def secret() -> bytes | None:
        if not got:
            encrypted = is_encrypted(directory / CA_KEY)
            why = f"{directory / CA_KEY}"
            got.append(get_passphrase(args.passphrase_file, why=why) if encrypted else None)
        return got[0]

    return secret
