"""A real mosquitto started from the police_broker role's rendered config (the role's
defaults, its validation tasks and templates, run by Ansible; only address, port, file
paths and user changed for the test, through the role's documented variables), and a
client that says whether the broker accepts a certificate (``mosquitto_pub``, QoS 1: it
waits for the broker's acknowledgement)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.demo.broker import find_mosquitto, free_port

ROLE = Path(__file__).resolve().parents[1] / "deploy" / "roles" / "police_broker"


def tool(name: str) -> str:
    """Path of *name* in this venv or on PATH."""
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert path, f"{name} not installed"
    return path


def render(tmp: Path, overrides: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run the role's validation tasks and render its two templates (mosquitto.conf, acl)
    into *tmp* with the role's defaults under *overrides* (extra vars)."""
    (tmp / "vars.json").write_text(json.dumps(overrides))
    (tmp / "render.yml").write_text(f"""
- hosts: localhost
  gather_facts: false
  vars_files: [{ROLE / "defaults" / "main.yml"}]
  tasks:
    - ansible.builtin.include_tasks: {ROLE / "tasks" / "validate.yml"}
    - ansible.builtin.template:
        src: {ROLE / "templates" / "mosquitto.conf.j2"}
        dest: {tmp / "mosquitto.conf"}
        mode: "0600"
    - ansible.builtin.template:
        src: {ROLE / "templates" / "acl.j2"}
        dest: {tmp / "acl"}
        mode: "0600"
""")
    return subprocess.run(
        [
            tool("ansible-playbook"),
            *("-i", "localhost,", "-c", "local"),
            *("-e", f"ansible_python_interpreter={sys.executable}"),
            *("-e", f"@{tmp / 'vars.json'}", str(tmp / "render.yml")),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "ANSIBLE_FILTER_PLUGINS": str(ROLE / "filter_plugins")},
    )


@dataclass
class RoleBroker:
    """The role's mosquitto.conf for *nodes* (ids at site s1), with the TLS files named."""

    dir: Path
    ca_cert: Path
    cert: Path
    key: Path
    crl: Path
    nodes: list[str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def render(self) -> None:
        """Render the role's config and ACL into the directory with Ansible."""
        overrides = {
            "police_broker_bind_address": "127.0.0.1",
            "police_broker_port": self.port,
            "police_broker_nodes": [{"id": n, "site": "s1"} for n in self.nodes],
            "police_broker_receivers": [],
            "police_broker_cafile": str(self.ca_cert),
            "police_broker_certfile": str(self.cert),
            "police_broker_keyfile": str(self.key),
            "police_broker_crlfile": str(self.crl),
            "police_broker_acl_file": str(self.dir / "acl"),
            "police_broker_persistence_dir": str(self.dir / "data"),
            "police_broker_log_dest": f"file {self.dir / 'mosquitto.log'}",
            "police_broker_user": "root" if os.geteuid() == 0 else "",
            "police_broker_pid_file": "",
            "police_broker_tls_src": str(self.cert.parent),
            "police_broker_ca_dirs": [str(self.ca_cert.parent)],
        }
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        done = render(self.dir, overrides)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert f"crlfile {self.crl}" in (self.dir / "mosquitto.conf").read_text()

    def start(self) -> None:
        """Start mosquitto with the rendered config (as the role's handler restarts it
        after a new CRL); returns once it listens."""
        self.proc = subprocess.Popen(
            [find_mosquitto(), "-c", str(self.dir / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not _listening(self.port):
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, "mosquitto did not listen"
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop mosquitto (if running)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        """Stop and start again: it reads the CRL anew."""
        self.stop()
        self.start()

    def log(self) -> str:
        """The broker's log so far."""
        path = self.dir / "mosquitto.log"
        return path.read_text() if path.exists() else ""

    def accepts(self, node: str, cert: Path, key: Path) -> bool:
        """Whether node *node*'s certificate gets one QoS 1 event acknowledged."""
        done = subprocess.run(
            [
                tool("mosquitto_pub"),
                *("-h", "localhost", "-p", str(self.port), "-i", f"{node}-check"),
                *("--cafile", str(self.ca_cert), "--cert", str(cert), "--key", str(key)),
                *("-t", f"warehouse/s1/{node}/events", "-m", "{}", "-q", "1"),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        return done.returncode == 0


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
