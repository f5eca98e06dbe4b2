"""Start a private mosquitto on free localhost ports, for the demo and the test suite.

Never listens beyond 127.0.0.1. The TLS listener requires client certificates from the
given CA; a client's certificate CN is its user name. Optionally an ACL (mosquitto's
``acl_file`` syntax) limits who may read and write what; without one everybody may do
anything. Stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from edge.core.errors import TransportError
from edge.demo.pki import CertPair, DemoCA


class BrokerError(TransportError):
    """mosquitto is missing or would not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str:
    """Path of the mosquitto binary, or BrokerError saying how to install it."""
    known = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
    for candidate in (shutil.which("mosquitto"), *known):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BrokerError(
        "mosquitto not found: install it (Debian/Ubuntu: sudo apt-get install mosquitto)"
    )


@dataclass
class LocalBroker:
    """A mosquitto process with a plain and a mutual-TLS listener on 127.0.0.1."""

    workdir: Path
    ca: DemoCA
    plain_port: int = 0
    tls_port: int = 0
    max_packet_size: int | None = None
    max_queued_messages: int | None = None
    """mosquitto ``max_queued_messages``: QoS 1/2 messages queued per client; None: default."""
    max_inflight_messages: int | None = None
    """mosquitto ``max_inflight_messages``: unacknowledged QoS 1/2 messages in flight per
    client; None: mosquitto's default."""
    persistence: bool = False
    acl: str | None = None
    """mosquitto ACL text (``user NAME`` / ``topic write T`` lines); None: no ACL at all."""
    crlfile: Path | None = None
    """A CRL (PEM, signed by the CA that issued the client certificates) the TLS listener
    checks client certificates against (mosquitto ``crlfile``); None: no revocation check."""
    proc: subprocess.Popen[bytes] | None = None
    server: CertPair | None = None
    log_path: Path = field(init=False)
    acl_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "mosquitto.log"
        self.acl_path = self.workdir / "acl"
        self.server = self.ca.issue("localhost", server=True)
        self.plain_port = self.plain_port or free_port()
        self.tls_port = self.tls_port or free_port()

    def config_text(self) -> str:
        """The mosquitto.conf this broker runs with."""
        assert self.server is not None
        lines = [
            "per_listener_settings false",
            "allow_anonymous true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "user root" if os.geteuid() == 0 else "",
            # TLS 1.2 and 1.3 both allowed: 1.3 is where a rejected client cert shows late
            f"listener {self.tls_port} 127.0.0.1",
            f"cafile {self.ca.ca_path}",
            f"certfile {self.server.cert}",
            f"keyfile {self.server.key}",
            "require_certificate true",
            "use_identity_as_username true",
            f"crlfile {self.crlfile}" if self.crlfile is not None else "",
            f"listener {self.plain_port} 127.0.0.1",  # plain, for allow_insecure tests only
        ]
        if self.max_packet_size:
            lines.insert(0, f"max_packet_size {self.max_packet_size}")
        if self.max_queued_messages is not None:
            lines.insert(0, f"max_queued_messages {self.max_queued_messages}")
        if self.max_inflight_messages is not None:
            lines.insert(0, f"max_inflight_messages {self.max_inflight_messages}")
        if self.acl is not None:
            lines.insert(0, f"acl_file {self.acl_path}")
        return "\n".join(line for line in lines if line) + "\n"

    def start(self, timeout: float = 10.0) -> None:
        """Start mosquitto and wait until both ports accept connections."""
        binary = find_mosquitto()
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config_text())
        if self.acl is not None:
            self.acl_path.write_text(self.acl)
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise BrokerError(f"mosquitto exited with {self.proc.returncode}: {err.strip()}")
            if all(_listening(p) for p in (self.plain_port, self.tls_port)):
                return
            time.sleep(0.02)
        self.stop()
        raise BrokerError(f"mosquitto did not listen within {timeout} s (log: {self.log_path})")

    @property
    def pid(self) -> int | None:
        """PID of the running broker."""
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def stop(self) -> None:
        """Stop the broker by its PID (SIGTERM, then SIGKILL)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        if self.proc.stderr:
            self.proc.stderr.close()

    def reload_acl(self, acl: str) -> None:
        """Replace the ACL and make the running broker read it again (SIGHUP): connected
        clients stay connected, their next publish is checked against the new rules."""
        if self.acl is None:
            raise BrokerError("this broker was started without an ACL: give acl= to start one")
        self.acl = acl
        self.acl_path.write_text(acl)
        if self.pid is not None:
            os.kill(self.pid, signal.SIGHUP)

    def restart(self) -> None:
        """Stop and start again on the same ports."""
        self.stop()
        self.start()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
