"""The CRL timer's service unit (systemd/warehouse-pki-crl@.service) read as systemd would
run it: its ExecStart and Environment with the instance (%i) and the credentials
directory (%d) filled in, the edge command this venv's; run as a subprocess with a HOME of
the test's own, optionally under libfaketime."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "systemd" / "warehouse-pki-crl@.service"
TIMER = ROOT / "systemd" / "warehouse-pki-crl@.timer"
NODE_EDGE = "/opt/warehouse-edge/venv/bin/edge"
USER = "technician"


def settings(name: str, unit: Path = SERVICE) -> list[str]:
    """Every value of *name*= in *unit*, in order."""
    prefix = f"{name}="
    return [
        line.removeprefix(prefix)
        for line in unit.read_text().splitlines()
        if line.startswith(prefix)
    ]


def _expand(text: str, creds: Path) -> str:
    return text.replace("%i", USER).replace("%d", str(creds))


def command(creds: Path) -> list[str]:
    """The unit's one ExecStart, split as systemd splits it, with this venv's edge."""
    (line,) = settings("ExecStart")
    argv = shlex.split(_expand(line, creds))
    assert argv[0] == NODE_EDGE, argv
    return [str(Path(sys.executable).parent / "edge"), *argv[1:]]


def environment(home: Path, creds: Path) -> dict[str, str]:
    """The unit's Environment= lines over this process's environment, HOME as systemd
    sets it for User= (here *home*), no XDG_DATA_HOME (a service has none)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("XDG_DATA_HOME", "EDGE_PKI_PASSPHRASE_FILE")
    }
    env["HOME"] = str(home)
    for line in settings("Environment"):
        key, _, value = _expand(line, creds).partition("=")
        env[key] = value
    return env


def credential(creds: Path, passphrase_file: Path) -> None:
    """Put the passphrase where LoadCredential= would: *creds*/NAME (0400)."""
    (line,) = settings("LoadCredential")
    name, _, _source = line.partition(":")
    creds.mkdir(parents=True, exist_ok=True)
    shutil.copy(passphrase_file, creds / name)
    (creds / name).chmod(0o400)


def run_unit(
    home: Path, creds: Path, *, shift: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The unit's ExecStart as the service runs it; with *shift* (e.g. ``+20d``) under
    libfaketime, the clock that far ahead."""
    argv = command(creds)
    if shift is not None:
        argv = [shutil.which("faketime") or "faketime", "-f", shift, *argv]
    return subprocess.run(
        argv, env=environment(home, creds), capture_output=True, text=True, check=False, timeout=60
    )
