"""docs/dashboard.md's acknowledgement audit and unlock commands, run exactly as written in a
directory holding ``receiver.toml`` (``edge`` on PATH): each exits 0 and prints what the docs
show (counts, hashes and key ids are the test's own)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from dash import Fleet, add_user

from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.acks import Acks
from edge.receiver.web.users import Users

DOC = Path(__file__).resolve().parents[3] / "docs" / "dashboard.md"
MARKER = "<!-- the commands below are run by tests/receiver/web/test_audit_docs.py exactly as written -->"  # noqa: E501


def doc_steps() -> list[tuple[str, str]]:
    """(command, expected output) of the tested block."""
    block = DOC.read_text().split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    steps: list[tuple[str, str]] = []
    for line in block.splitlines():
        if line.startswith("# -> "):
            steps[-1] = (steps[-1][0], line.removeprefix("# -> "))
        elif line.strip():
            steps.append((line, ""))
    return steps


VARIABLE = re.compile(r"([0-9a-f]{64}|(?<![0-9a-f])[0-9a-f]{16}(?![0-9a-f])|\d+)")
"""Hashes, key ids and numbers in a documented output."""


def pattern(expected: str) -> re.Pattern[str]:
    """The documented output as a pattern: its hashes, key ids and numbers stand for any."""
    out = ""
    for n, piece in enumerate(VARIABLE.split(expected)):
        if n % 2 == 0:
            out += re.escape(piece)
        elif len(piece) in (16, 64) and not piece.isdigit():
            out += f"[0-9a-f]{{{len(piece)}}}"
        else:
            out += r"\d+"
    return re.compile(out)


def test_the_documented_audit_commands_run_as_written(tmp_path: Path) -> None:
    """With two acknowledgements (checkpoints every 2) and budi failing from two addresses:
    verify, key, verify pinned, export, the node's verify of the export and unlock all exit
    0 and print what the docs show; the export and the pinned key are where they say."""
    data = tmp_path / "rx"
    (tmp_path / "receiver.toml").write_text(
        f'[receiver]\nname = "polda-jateng"\ndata_dir = "{data}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
    )
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    try:
        fleet = Fleet(store)
        acks = Acks(store.db, data, "polda-jateng", checkpoint_every=2)
        for event in (fleet.event(), fleet.event()):
            acks.acknowledge(fleet.node.site, fleet.node.node, event, "budi", "seen on camera")
        add_user(store, "budi", "officer")
        for address in ("10.1.0.1", "10.1.0.2"):
            Users(store.db).login("budi", "wrong password", address)
    finally:
        store.close()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    steps = doc_steps()
    assert len(steps) == 6, steps
    for command, expected in steps:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, (command, done)
        if expected:
            assert pattern(expected).search(done.stdout), (command, expected, done.stdout)
    assert "BEGIN PUBLIC KEY" in (tmp_path / "polda-jateng.pem").read_text()
    assert len((tmp_path / "acks-2026-12.log").read_text().splitlines()) >= 4
