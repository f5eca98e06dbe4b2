"""Where the PKI's files are by default, with no cryptography imported (the CLI's help
text needs it at start)."""

from __future__ import annotations

import os
from pathlib import Path

PASSPHRASE_ENV = "EDGE_PKI_PASSPHRASE_FILE"  # noqa: S105 (a variable name, not a secret)
"""Environment variable naming a file that holds the CA key's passphrase (one line)."""


def default_ca_dir() -> Path:
    """Where the site CA lives unless ``--ca-dir`` says otherwise: outside any repository,
    in the technician's data directory (``$XDG_DATA_HOME``, else ``~/.local/share``)
    under ``warehouse-edge/pki/ca``. deploy/pki.yml's ``pki_ca_dir`` defaults to the same."""
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".local" / "share"
    return root / "warehouse-edge" / "pki" / "ca"
