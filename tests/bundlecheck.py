"""Checking a dashboard evidence bundle the way an auditor would: unzip it, run the openssl
commands its README gives (exactly as printed there), and the Python steps; the key inside is
the one the manifest and its enrolment record name."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

FILES = {"clip.mp4", "manifest.json", "manifest.signed.json", "manifest.sig",
         "node-public-key.pem", "key-enrolment.json", "event.json", "README.txt"}  # fmt: skip
"""What every bundle holds (at least: the event's snapshot, incident and workflow too)."""


def readme_commands(readme: str) -> list[str]:
    """The openssl commands of the README's numbered steps (continuation lines joined)."""
    commands: list[str] = []
    lines = iter(readme.splitlines())
    for line in lines:
        if not line.startswith("     openssl"):
            continue
        command = line.strip()
        while command.endswith("\\"):
            command = command[:-1].rstrip() + " " + next(lines).strip()
        commands.append(command)
    return commands


def _run(command: str, cwd: Path) -> str:
    """Run one README command with bash in the unzipped bundle; its output."""
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (command, done)
    return done.stdout


def check_bundle(data: bytes, out: Path) -> dict[str, Any]:
    """Unzip *data* into *out* and verify it with openssl (the README's commands) and
    Python; the key enrolment record it carries."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert set(z.namelist()) >= FILES, sorted(FILES - set(z.namelist()))
        z.extractall(out)
    env = json.loads((out / "manifest.json").read_text())
    m = env["manifest"]
    signed = json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert signed == (out / "manifest.signed.json").read_bytes()
    assert hashlib.sha256((out / "clip.mp4").read_bytes()).hexdigest() == m["sha256"]
    key = load_pem_public_key((out / "node-public-key.pem").read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    key.verify(base64.b64decode(env["signature"]), signed)
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = hashlib.sha256(raw).hexdigest()[:16]
    enrolment: dict[str, Any] = json.loads((out / "key-enrolment.json").read_text())
    assert kid == env["key_id"] == enrolment["key_id"]
    assert enrolment["public_key_pem"] == (out / "node-public-key.pem").read_text()
    readme = (out / "README.txt").read_text()
    assert m["sha256"] in readme and f"key id {kid}" in readme
    commands = readme_commands(readme)
    verify = [c for c in commands if c.startswith("openssl pkeyutl -verify")]
    derive = [c for c in commands if c.startswith("openssl pkey -pubin")]
    assert verify and len(derive) == 1, commands
    assert shutil.which("openssl"), "the evidence bundle is checked with openssl (Makefile)"
    assert _run(derive[0], out).strip() == kid
    for command in verify:  # the manifest's, and the event's when the bundle has it
        assert "Signature Verified Successfully" in _run(command, out), command
    assert re.search(r"openssl dgst -sha256 clip\.mp4", readme)
    return enrolment
