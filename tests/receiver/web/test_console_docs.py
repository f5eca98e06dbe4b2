"""docs/dashboard.md's console commands, run exactly as written in a directory holding
``receiver.toml`` (``edge`` on PATH, ``$PASSWORD`` set), each exiting 0 and printing what the
docs show (the last one, the receiver with its console, serves the login page in Bahasa
Indonesia until it is stopped); and its config block, loaded as a receiver config, holds
the defaults it says it shows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
from dash import PASSWORD
from procs import free_port, receiver_toml
from timing import wait_until

from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.config import loads

DOC = Path(__file__).resolve().parents[3] / "docs" / "dashboard.md"
COMMANDS = "<!-- the commands below are run by tests/receiver/web/test_console_docs.py exactly as written -->"  # noqa: E501
CONFIG = "<!-- loaded as a receiver config by tests/receiver/web/test_console_docs.py -->"
HEADER = '[receiver]\nname = "polda-jateng"\ndata_dir = "rx"\n[broker]\nhost = "localhost"\n'


def block(marker: str, fence: str) -> str:
    """The fenced block (opened by *fence*) right after *marker*."""
    return DOC.read_text().split(marker, 1)[1].split(fence, 1)[1].split("```", 1)[0]


def steps() -> list[tuple[str, str]]:
    """(command, expected output line) of the command block."""
    out: list[tuple[str, str]] = []
    for line in block(COMMANDS, "```sh\n").splitlines():
        if line.startswith("# -> "):
            out[-1] = (out[-1][0], line.removeprefix("# -> "))
        elif line.strip():
            out.append((line, ""))
    return out


def test_the_documented_settings_load_and_are_the_defaults() -> None:
    """The ``[console]``/``[http]``/``[sites]``/``[nodes]`` block is a valid receiver config,
    and each ``[console]`` and ``[http]`` value it shows is the default."""
    text = block(CONFIG, "```toml\n")
    cfg = loads(HEADER + "allow_insecure = true\n" + text)
    assert cfg.sites["semarang-kaligawe"].regency == "Kota Semarang"
    assert cfg.nodes["semarang-kaligawe/gudang-01"].name == "Pintu bongkar muat utara"
    defaults = loads(HEADER + "allow_insecure = true\n")
    shown = tomllib.loads(text)
    for table in ("console", "http"):
        for key, value in shown[table].items():
            assert getattr(getattr(defaults, table), key) == value, (table, key)


def test_the_documented_commands_run_as_written(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA
) -> None:
    """Two users added (one in English), listed, the night's unacknowledged listed, and the
    receiver run with its console on ``[http] bind``: its login page answers in Bahasa
    Indonesia; it stops on SIGTERM."""
    port = free_port()
    prefix = f"docs-{port}"
    text = receiver_toml(tmp_path / "rx", broker, ca, f"polda-docs-{port}", prefix)
    (tmp_path / "receiver.toml").write_text(text + f'bind = "127.0.0.1:{port}"\n')
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "PASSWORD": PASSWORD}
    done = steps()
    assert done[-1][0].endswith(" --http"), done
    for command, expected in done[:-1]:
        run = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert run.returncode == 0, (command, run.stdout, run.stderr)
        assert " ".join(expected.split()) in " ".join(run.stdout.split()), (command, run.stdout)
    log = (tmp_path / "console.log").open("wb")
    server = subprocess.Popen(["bash", "-c", done[-1][0]], cwd=tmp_path, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:

        def login_page() -> str:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
            except httpx.HTTPError:
                return ""
            return r.text if r.status_code == 200 else ""

        assert wait_until(lambda: login_page() or server.poll() is not None, 60, 0.1)
        assert '<html lang="id"' in login_page(), (tmp_path / "console.log").read_text()
        os.killpg(server.pid, signal.SIGTERM)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()
