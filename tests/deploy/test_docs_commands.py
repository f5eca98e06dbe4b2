"""docs/deploy.md's node and receiver commands, run exactly as written: every ```sh block
after the test marker, line by line, from the laptop (this machine, in a scratch folder),
where ``ssh HOST CMD`` reaches a private copy of the installed root (node and receiver in one
host, as the session's install made it) as the technician's login, who may ``sudo`` (as on a
Raspberry Pi OS card; ``sudo`` is real, inside the root). Each exits as documented and prints
what its ``# ->`` line shows; afterwards no file in the node's or the receiver's data
directory is root's. The daemon's heartbeat state is written by its own writer from a process
of the service user that stays alive (no daemon runs in a root without systemd); the copy's
receiver stores into SQLite (the install's PostgreSQL URL names no server here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from debroot import in_root
from installed import NODE_ID, SITE, Install, private_root
from nodecfg import file_camera, sensor
from synth import write_video

from edge.bench.fleet import SimNode

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
MARKER = (
    "<!-- the commands below are run by tests/deploy/test_docs_commands.py exactly as written -->"
)
TECH = "teknisi"
DATA_DIRS = ("var/lib/warehouse-edge", "var/lib/warehouse-receiver")
EDGE_PY = "/opt/warehouse-edge/venv/bin/python"
VIDEO = "/opt/warehouse-edge/gudang-a.mp4"
"""Camera gudang-a's picture in the test: a file the service user may read (no RTSP here)."""
CHROOT = shutil.which("chroot", path="/usr/sbin:/usr/bin:/sbin:/bin") or "chroot"

SSH = """#!/bin/sh
# Test stand-in for ssh (transport only): `ssh HOST CMD...` runs CMD through the login's
# shell inside the test's root (every host is that root), as the technician; stdin, stdout
# and the exit status pass through.
shift
exec {chroot} --userspec={tech}:{tech} {root} /usr/bin/env -i HOME=/home/{tech} USER={tech} \\
  LOGNAME={tech} LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin /bin/sh -c "cd; $*"
"""
SCP = """#!/bin/sh
# Test stand-in for scp HOST:PATH DEST: PATH read inside the test's root as the technician,
# written to DEST (into it, when DEST is a folder).
src="${{1#*:}}"; dest="$2"
[ -d "$dest" ] && dest="$dest/$(basename "$src")"
exec {chroot} --userspec={tech}:{tech} {root} /bin/cat "$src" > "$dest"
"""
HEARTBEAT = f"""
import sys
from pathlib import Path
from edge import __version__
from edge.node.statefile import write
health = {{"node": "{NODE_ID}", "site": "{SITE}", "status": "healthy", "uptime_s": 5,
          "version": __version__, "clock_synced": True, "cameras": {{}}, "sensors": [],
          "links": {{}}, "queue": {{}}}}
write(Path(sys.argv[1]) / "state" / "status.json", health, 60.0)
print("written", flush=True)
sys.stdin.read()
"""


@dataclass(frozen=True)
class Step:
    """One documented command, the exit status and the output its ``# ->`` line shows."""

    command: str
    status: int = 0
    expected: str = ""


def doc_steps() -> list[Step]:
    """Every command of every ```sh block that follows the marker, in order."""
    steps: list[Step] = []
    for part in DOC.read_text().split(MARKER)[1:]:
        block = part.split("```sh\n", 1)[1].split("```", 1)[0]
        for line in block.splitlines():
            if line.startswith("# -> "):
                expected = line.removeprefix("# -> ")
                status = 0
                if m := re.match(r"exit (\d+): ", expected):
                    status, expected = int(m[1]), expected[m.end() :]
                steps[-1] = Step(steps[-1].command, status, expected)
            elif line.strip() and not line.startswith("#"):
                steps.append(Step(line))
    return steps


@dataclass(frozen=True)
class Field:
    """The copy of the installed root, the laptop's scratch folder and its PATH."""

    root: Path
    laptop: Path
    path: str


def _setup_root(root: Path) -> None:
    """The technician's login with sudo (as a Raspberry Pi OS card's first user), the
    copy's receiver on SQLite, and the camera and contact of the docs' host_vars (a file
    camera, a mock GPIO factory) unless the installed config has them."""
    for argv in (["useradd", "-m", "-s", "/bin/sh", "-G", "sudo", TECH],):
        done = in_root(root, *argv)
        assert done.returncode == 0, done.stderr
    rule = root / "etc/sudoers.d/010_teknisi-nopasswd"
    rule.write_text(f"{TECH} ALL=(ALL) NOPASSWD: ALL\n")
    rule.chmod(0o440)
    toml = root / "etc/warehouse-receiver/receiver.toml"
    text = toml.read_text()
    toml.write_text(re.sub(r'(?m)^store = ".*"$', 'store = "sqlite"', text))
    node = root / "etc/warehouse-edge/node.toml"
    if "gudang-a" not in node.read_text():  # the camera and contact step 6 shows
        video = write_video(root / VIDEO.lstrip("/"), frames=20)
        video.chmod(0o644)
        extra = file_camera("gudang-a", Path(VIDEO)) + sensor("pintu-bongkar", "door", 17)
        node.write_text(mock_gpio(node.read_text()) + f"\n{extra}")


def mock_gpio(text: str) -> str:
    """*text* (a node.toml) with ``[gpio] factory = "mock"``: a root has no GPIO (the node's
    check-config says so with a WARNING line)."""
    head = re.search(r"(?m)^\[gpio\][ \t]*\n", text)
    if head is None:
        return f'{text}\n[gpio]\nfactory = "mock"\n'
    rest = text[head.end() :]
    end = re.search(r"(?m)^\[", rest)
    body, after = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    body = re.sub(r"(?m)^factory\s*=.*\n?", "", body)
    return f'{text[: head.end()]}factory = "mock"\n{body}{after}'


@pytest.fixture(scope="module")
def field(install: Install, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Field]:
    """A private view of the installed root reached by a fake ssh and scp from a scratch
    folder; the service user's heartbeat state written and kept current while it lasts."""
    tmp = tmp_path_factory.mktemp("docs-commands")
    with private_root(install, tmp / "root") as root:
        _setup_root(root)
        yield from _field(root, tmp)


def _field(root: Path, tmp: Path) -> Iterator[Field]:
    """The fake ssh and scp, the laptop's folder and the heartbeat writer, while it lasts."""
    bin_dir, laptop = tmp / "bin", tmp / "laptop"
    bin_dir.mkdir()
    laptop.mkdir()
    for name, text in (("ssh", SSH), ("scp", SCP)):
        (bin_dir / name).write_text(text.format(tech=TECH, root=root, chroot=CHROOT))
        (bin_dir / name).chmod(0o755)
    heartbeat = subprocess.Popen(
        [CHROOT, "--userspec=warehouse-edge:warehouse-edge", str(root), EDGE_PY, "-c",
         HEARTBEAT, "/var/lib/warehouse-edge"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )  # fmt: skip
    try:
        assert heartbeat.stdout is not None and heartbeat.stdout.readline() == "written\n"
        path = f"{bin_dir}:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
        yield Field(root, laptop, path)
    finally:
        heartbeat.kill()
        heartbeat.wait()


def root_owned(root: Path) -> list[str]:
    """Files and folders in the node's and the receiver's data directories owned by root."""
    found = []
    for top in DATA_DIRS:
        base = root / top
        for path in [base, *base.rglob("*")] if base.exists() else []:
            if path.lstat().st_uid == 0:
                found.append(str(path.relative_to(root)))
    return found


def test_the_documented_commands_run_as_written(field: Field) -> None:
    """Each documented command, as written, from the laptop: exit status and output as the
    docs show; `status --json` writes one JSON object, `keys export --json` the node's key;
    the key is enrolled at the receiver, whose store is the service user's. Nothing in
    the data directories is root's and no handed-over credentials are left behind."""
    steps = doc_steps()
    commands = " ".join(s.command for s in steps)
    for needed in ("check-config", "status", "snapshot", "sensors", "keys export", "enrol"):
        assert needed in commands, needed
    env = {"PATH": field.path, "LANG": "C.UTF-8", "HOME": str(field.laptop)}
    for step in steps:
        done = subprocess.run(["bash", "-c", step.command], cwd=field.laptop, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == step.status, (step.command, output)
        assert step.expected in re.sub(r"[ \t]+", " ", output), (step.command, output)
    status = json.loads((field.laptop / f"{NODE_ID}-status.json").read_text())
    assert status["exit"] == 0 and status["running"] is True, status
    exported = json.loads((field.laptop / f"{NODE_ID}.json").read_text())
    assert (exported["node"], exported["site"]) == (NODE_ID, SITE)
    assert "BEGIN PUBLIC KEY" in exported["public_key_pem"]
    assert (field.laptop / "gudang-a.png").read_bytes().startswith(b"\x89PNG")
    assert root_owned(field.root) == []
    db = field.root / "var/lib/warehouse-receiver/receiver.db"
    owner = in_root(field.root, "stat", "-c", "%U", "/var/lib/warehouse-receiver/receiver.db")
    assert db.exists() and owner.stdout.strip() == "warehouse-receiver", owner
    leftovers = [*field.root.glob("tmp/edge-credentials.*"), *field.root.glob("dev/shm/edge-c*")]
    assert leftovers == []
    # the receiver's own user writes to the store the technician's command made
    other = SimNode(SITE, "smg-utara-99")
    (field.root / "tmp/smg-utara-99.pem").write_text(other.key.pem)
    (field.root / "tmp/smg-utara-99.pem").chmod(0o644)
    rx = "/opt/warehouse-receiver/venv/bin/edge"
    more = in_root(field.root, rx, "receive", "-c", "/etc/warehouse-receiver/receiver.toml",
                   "enrol", f"{SITE}/smg-utara-99", "/tmp/smg-utara-99.pem",
                   user="warehouse-receiver")  # fmt: skip
    assert more.returncode == 0 and "enrolled" in more.stdout, more


def test_as_the_service_user_without_sudo(field: Field) -> None:
    """As warehouse-edge, no $CREDENTIALS_DIRECTORY: `status` and `keys export` need no TLS
    file and work; `check-config` exits 2 naming the root-only TLS key and saying to run it
    with sudo."""
    edge = "/opt/warehouse-edge/venv/bin/edge"
    cfg = "/etc/warehouse-edge/node.toml"
    status = in_root(field.root, edge, "status", "--config", cfg, "--json", user="warehouse-edge")
    assert status.returncode == 0 and json.loads(status.stdout)["exit"] == 0, status
    exported = in_root(field.root, edge, "keys", "export", "--config", cfg, "--json",
                       user="warehouse-edge")  # fmt: skip
    assert exported.returncode == 0 and json.loads(exported.stdout)["node"] == NODE_ID
    check = in_root(field.root, edge, "check-config", cfg, user="warehouse-edge")
    assert check.returncode == 2, check
    assert "/etc/warehouse-edge/tls/node.key: not readable by warehouse-edge" in check.stderr
    assert f"run the check with sudo (sudo {edge} check-config {cfg})" in check.stderr
    assert root_owned(field.root) == []
