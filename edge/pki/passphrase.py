"""The CA key's passphrase: read from a file (``--passphrase-file`` or the file that
``EDGE_PKI_PASSPHRASE_FILE`` names: a systemd credential, an Ansible Vault-decrypted file)
or asked on the terminal; never taken from the command line, where ``ps`` and the shell's
history would show it."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from edge.pki.ca import PkiError
from edge.pki.paths import PASSPHRASE_ENV as ENV

MIN_LENGTH = 12
"""Shortest passphrase ``init-ca`` accepts for a new CA key."""


def read_passphrase_file(path: Path) -> bytes:
    """The passphrase in *path*: its first line, without the line end. Refused when the
    file is empty or others may read it."""
    try:
        mode = path.stat().st_mode & 0o777
        data = path.read_bytes()
    except OSError as e:
        raise PkiError(f"{path}: cannot read the passphrase file: {e.strerror or e}") from e
    if mode & 0o007:
        raise PkiError(f"{path}: passphrase file readable by others (mode {mode:o}); chmod 600")
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    if not line:
        raise PkiError(f"{path}: the passphrase file is empty")
    return line


def passphrase_source(option: Path | None) -> Path | None:
    """The file the passphrase comes from: *option* (``--passphrase-file``) or the one
    ``EDGE_PKI_PASSPHRASE_FILE`` names; None when neither is given."""
    if option is not None:
        return option
    named = os.environ.get(ENV, "").strip()
    return Path(named) if named else None


def get_passphrase(option: Path | None, *, why: str, confirm: bool = False) -> bytes:
    """The passphrase from *option* or ``EDGE_PKI_PASSPHRASE_FILE``, else asked on the
    terminal (twice with *confirm*); PkiError without a file and without a terminal."""
    source = passphrase_source(option)
    if source is not None:
        return read_passphrase_file(source)
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise PkiError(
            f"{why}: give the CA key's passphrase with --passphrase-file FILE or {ENV}=FILE "
            "(no terminal to ask on)"
        )
    first = getpass.getpass(f"{why}: CA key passphrase: ").encode()
    if confirm and getpass.getpass("again: ").encode() != first:
        raise PkiError("the two passphrases differ")
    if not first:
        raise PkiError("empty passphrase")
    return first


def new_passphrase(option: Path | None) -> bytes:
    """A passphrase for a new CA key (asked twice on a terminal), at least MIN_LENGTH long."""
    secret = get_passphrase(option, why="new CA key", confirm=True)
    if len(secret) < MIN_LENGTH:
        raise PkiError(f"the CA key passphrase needs at least {MIN_LENGTH} characters")
    return secret
