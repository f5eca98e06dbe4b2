"""docs/audit.md, run as written: a node's audit log written over ten simulated minutes, each
heartbeat's head archived by a receiver store (SQLite and PostgreSQL), then the documented
commands in a shell (``edge`` on PATH) exit 0 and print what the docs show; cut after a
heartbeat, the same verify prints the documented lines and exits 1."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from auditchain import Clock

from edge.bench.fleet import SimNode
from edge.cli.main import main
from edge.evidence.audit import AuditLog
from edge.receiver.store.store import ReceiverStore
from edge.receiver.trust import Checker, Registry

pytestmark = pytest.mark.faults

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"
HERE = "tests/evidence/test_node_audit_docs.py"
COMMANDS = f"<!-- the commands below are run by {HERE} exactly as written -->"
SAMPLE = f"<!-- the lines below are matched against a cut log by {HERE} -->"
VARIABLE = re.compile(r"([0-9a-f]{64}|(?<![0-9a-f])[0-9a-f]{16}(?![0-9a-f])|\d+)")
"""Hashes, key ids and numbers in a documented output."""


def _block(marker: str, fence: str) -> str:
    return DOC.read_text().split(marker, 1)[1].split(fence, 1)[1].split("```", 1)[0]


def doc_steps() -> list[tuple[str, str]]:
    """(command, expected output) of the tested block."""
    steps: list[tuple[str, str]] = []
    for line in _block(COMMANDS, "```sh\n").splitlines():
        if line.startswith("# -> "):
            steps[-1] = (steps[-1][0], line.removeprefix("# -> "))
        elif line.strip():
            steps.append((line, ""))
    return steps


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


def _archive(conf: Path, store_url: str, data: Path, tmp_path: Path) -> list[str]:
    """Enrol gudang-07, write its audit log in *tmp_path* over ten simulated minutes and
    store each heartbeat (carrying the signed head) as the receiver does; the heads."""
    node = SimNode("semarang", "gudang-07")
    exported = tmp_path / "gudang-07.json"
    exported.write_text(json.dumps({"node": node.node, "site": node.site,
                                    "public_key_pem": node.key.pem}))  # fmt: skip
    assert main(["receive", "-c", str(conf), "enrol", node.node, str(exported)]) == 0
    (tmp_path / "gudang-07.pem").write_text(node.key.pem)
    clock = Clock()
    log = AuditLog(tmp_path / "audit.log", signer=node.key, clock=clock)
    store = ReceiverStore(store_url, data)
    heads: list[str] = []
    try:
        check = Checker(Registry(store.identities()), "warehouse", max_clip_bytes=1 << 20)
        for n in range(120):
            if n % 12 == 1:  # a heartbeat every 60 s
                log.checkpoint()
                heads.append(log.head)
                topic, payload, props = node.heartbeat(audit_head=log.head)
                full = f"warehouse/{node.site}/{node.node}/{topic}"
                store.commit([check.check(full, payload, dict(props))])
            log.append("shared", "door_open", f"e{n}", "police", f"{n:064x}", topic="events")
            clock.now += 5
    finally:
        store.close()
    return heads


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_documented_verify_runs_as_written(
    tmp_path: Path, request: pytest.FixtureRequest, engine: str
) -> None:
    """The documented heads export and verify exit 0 and print what the docs show; the log
    then cut two records after a heartbeat's checkpoint gives the documented lines (the
    newest head named, the CUT summary) and exit 1."""
    data = tmp_path / "rx"
    url = (
        f"sqlite:///{data / 'receiver.db'}"
        if engine == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    conf = tmp_path / "receiver.toml"
    store = "sqlite" if engine == "sqlite" else url
    conf.write_text(f'[receiver]\nname = "polda-jateng"\ndata_dir = "{data}"\nstore = "{store}"\n'
                    '[broker]\nhost = "localhost"\nallow_insecure = true\n')  # fmt: skip
    heads = _archive(conf, str(url), data, tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    steps = doc_steps()
    assert len(steps) == 2, steps
    for command, expected in steps:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, (command, done)
        if expected:
            assert pattern(expected).search(done.stdout), (command, expected, done.stdout)
    assert [r["head"] for r in json.loads((tmp_path / "heads.json").read_text())] == heads[::-1]

    raw = (tmp_path / "audit.log").read_bytes().splitlines(keepends=True)
    at = next(n for n, line in enumerate(raw) if f'"hash":"{heads[-3]}"'.encode() in line)
    (tmp_path / "audit.log").write_bytes(b"".join(raw[: at + 3]))  # two records after it
    done = subprocess.run(["bash", "-c", steps[-1][0]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 1, done
    for line in _block(SAMPLE, "```\n").splitlines():
        assert pattern(line).search(done.stderr), (line, done.stderr)
    assert f"cut or rewritten after {heads[-1]}: that head (heads.json entry 1 " in done.stderr
