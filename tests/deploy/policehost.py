"""The police broker's playbooks run for real on this machine: broker.yml and revoke.yml
with the role's files under a temporary directory (an inventory with ``ansible_connection=
local``), a real mosquitto, and MQTT clients that present the nodes' certificates.

There is no systemd here, so ``systemctl`` (the one the role's handlers call) is a
stand-in that does for the one unit, mosquitto.service, what Debian's unit does:
``start``/``restart`` run ``mosquitto -c CONF`` anew (and wait until it listens), ``reload``
sends SIGHUP (ExecReload=/bin/kill -HUP $MAINPID), ``show`` reports it active with its pid.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.cli.main import main
from edge.demo.broker import find_mosquitto
from edge.demo.pki import CertPair

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PASSPHRASE = "police test passphrase"  # the tests' CA key

SYSTEMCTL = """#!{python}
import os, signal, socket, subprocess, sys, time
from pathlib import Path
conf, pidfile = os.environ["POLICE_CONF"], Path(os.environ["POLICE_PID"])
port = int(os.environ["POLICE_PORT"])
args = [a.strip("'") for a in sys.argv[1:] if not a.startswith("-")]
with open(os.environ["POLICE_SYSTEMCTL_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
def pid():
    try:
        p = int(pidfile.read_text())
        os.kill(p, 0)
        return p
    except (OSError, ValueError):
        return 0
def stop():
    p = pid()
    if p:
        os.kill(p, signal.SIGTERM)
        while pid() == p:
            time.sleep(0.02)
def start():
    pidfile.unlink(missing_ok=True)
    subprocess.Popen([os.environ["POLICE_MOSQUITTO"], "-c", conf], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while not (pid() and socket.socket().connect_ex(("127.0.0.1", port)) == 0):
        if time.monotonic() > deadline:
            sys.exit("mosquitto did not start")
        time.sleep(0.02)
what = args[0] if args else ""
if what == "show":
    state = "active" if pid() else "inactive"
    print(f"LoadState=loaded\\nActiveState={{state}}\\nMainPID={{pid()}}")
elif what == "is-enabled":
    print("enabled")
elif what in ("start", "restart"):
    stop()
    start()
elif what == "reload":
    os.kill(pid(), signal.SIGHUP)
elif what not in ("daemon-reload", "enable"):
    sys.exit(f"systemctl stand-in: {{what}} not supported")
"""


def tool(name: str) -> str:
    """Path of a command of the venv (or PATH)."""
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert path, f"{name} not installed (pip extra 'deploy')"
    return path


def pki(*argv: str | Path) -> None:
    """``edge pki ARGV...`` (the CA key's passphrase from EDGE_PKI_PASSPHRASE_FILE)."""
    assert main(["pki", *(str(a) for a in argv)]) == 0, argv


def new_ca(ca: Path, name: str) -> Path:
    """A site CA in *ca* (its key encrypted with the tests' passphrase)."""
    pki("init-ca", "--ca-dir", ca, "--name", name)
    return ca


def issue(ca: Path, cn: str, *role: str) -> CertPair:
    """Key, request and certificate for *cn* of the CA in *ca* (`edge pki csr`, `sign`)."""
    d = ca.parent / cn
    pki("csr", "--key", d / "key.pem", "--csr", d / "req.csr", "--cn", cn)
    pki("sign", "--ca-dir", ca, "--csr", d / "req.csr", "--out", d / "cert.pem", *role)
    return CertPair(d / "cert.pem", d / "key.pem")


@dataclass
class PoliceHost:
    """A broker host in *base*: the inventory, the environment ansible-playbook runs in
    (PATH with the systemctl stand-in), and where mosquitto's files go."""

    base: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def etc(self) -> Path:
        """The broker's configuration directory (its /etc/mosquitto)."""
        return self.base / "etc"

    @property
    def pid_file(self) -> Path:
        """mosquitto's pid file."""
        return self.base / "mosquitto.pid"

    def pid(self) -> int:
        """The running mosquitto's pid (0: none)."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return 0
        return pid

    def stop(self) -> None:
        """Stop the broker if it runs."""
        if pid := self.pid():
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while self.pid() == pid and time.monotonic() < deadline:
                time.sleep(0.02)

    def playbook(self, *argv: str, cwd: Path = DEPLOY) -> subprocess.CompletedProcess[str]:
        """``ansible-playbook ARGV`` in *cwd* (deploy/), as the technician runs it."""
        return subprocess.run(
            [tool("ansible-playbook"), *argv],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=240,
        )


def broker_host(
    base: Path, port: int, host_vars: dict[str, Any], name: str = "police-test"
) -> PoliceHost:
    """A broker host *name* in *base*: ``inventory.ini`` (group brokers, local connection)
    and ``host_vars/NAME.yml`` with the role's paths under *base* plus *host_vars*; the
    systemctl stand-in first on PATH."""
    host = PoliceHost(base, port)
    (base / "host_vars").mkdir(parents=True, exist_ok=True)
    (base / "data").mkdir(exist_ok=True)
    (base / "inventory.ini").write_text(
        f"[brokers]\n{name} ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    settings = {
        "police_broker_bind_address": "127.0.0.1",
        "police_broker_port": port,
        "police_broker_conf_dir": str(host.etc),
        "police_broker_persistence_dir": str(base / "data"),
        "police_broker_log_dest": f"file {base / 'mosquitto.log'}",
        "police_broker_user": "root",
        "police_broker_pid_file": str(host.pid_file),
        **host_vars,
    }
    (base / "host_vars" / f"{name}.yml").write_text(json.dumps(settings, indent=1))
    bindir = base / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "systemctl"
    shim.write_text(SYSTEMCTL.format(python=sys.executable))
    shim.chmod(0o755)
    passphrase = base / "ca-passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    passphrase.chmod(0o600)
    host.env = {
        **os.environ,
        "PATH": f"{bindir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "POLICE_CONF": str(host.etc / "mosquitto.conf"),
        "POLICE_PID": str(host.pid_file),
        "POLICE_PORT": str(port),
        "POLICE_MOSQUITTO": find_mosquitto(),
        "POLICE_SYSTEMCTL_LOG": str(base / "systemctl.log"),
        "EDGE_PKI_PASSPHRASE_FILE": str(passphrase),
        "ANSIBLE_NOCOLOR": "1",
    }
    return host


class Client:
    """An MQTT client with *pair*'s certificate that keeps reconnecting; counts its
    connections (CONNACK success), losses and failed attempts."""

    def __init__(self, port: int, ca: Path, pair: CertPair, client_id: str) -> None:
        self.connects = 0
        self.losses = 0
        self.failures = 0
        self._lock = threading.Lock()
        ctx = ssl.create_default_context(cafile=str(ca))
        ctx.load_cert_chain(str(pair.cert), str(pair.key))
        self._c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._c.tls_set_context(ctx)
        self._c.reconnect_delay_set(1, 1)
        self._c.on_connect = self._connected
        self._c.on_disconnect = self._lost
        self._c.on_connect_fail = self._failed
        self._c.connect_async("localhost", port, keepalive=30)
        self._c.loop_start()

    def _connected(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            with self._lock:
                self.connects += 1

    def _lost(self, *_args: Any) -> None:
        with self._lock:
            self.losses += 1

    def _failed(self, *_args: Any) -> None:
        with self._lock:
            self.failures += 1

    def refusals(self) -> int:
        """Connections lost or attempts failed so far."""
        with self._lock:
            return self.losses + self.failures

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish *payload* at QoS 1 and wait for the broker's PUBACK."""
        self._c.publish(topic, payload, qos=1).wait_for_publish(10)

    def connected(self) -> bool:
        """Whether it holds a connection now."""
        return bool(self._c.is_connected())

    def stop(self) -> None:
        """Disconnect and stop its thread."""
        self._c.disconnect()
        self._c.loop_stop()


@contextmanager
def clients(port: int, ca: Path, certs: dict[str, CertPair]) -> Iterator[dict[str, Client]]:
    """A Client per certificate in *certs* (client id = its name), stopped afterwards."""
    started = {name: Client(port, ca, pair, name) for name, pair in certs.items()}
    try:
        yield started
    finally:
        for c in started.values():
            c.stop()


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:*port*."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
