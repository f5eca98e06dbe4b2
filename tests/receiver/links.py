"""Real node links (``edge.link.mqtt.MqttLink``, the node's own code: its will, its
statuses, its session) for the receiver's presence tests: in this process, or one link in a
process of its own that a test can SIGKILL. Run as a script it is that process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig, TlsConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.link.mqtt import MqttLink
from edge.outbox.store import Outbox


def destination(broker: LocalBroker, ca: DemoCA, prefix: str, **settings: Any) -> dict[str, Any]:
    """The settings of a node's police destination on *broker* under *prefix*."""
    pair = ca.issue("presence-nodes")
    return {
        "name": "police", "host": "localhost", "port": broker.tls_port, "topic_prefix": prefix,
        "tls": {"ca": str(ca.ca_path), "cert": str(pair.cert), "key": str(pair.key)},
        "reconnect_max_s": 2, **settings,
    }  # fmt: skip


def link(dest: dict[str, Any], site: str, node: str, outbox: Path) -> MqttLink:
    """A node's link (not started)."""
    cfg = DestinationConfig.model_validate({**dest, "tls": TlsConfig(**dest["tls"])})
    return MqttLink(cfg, NodeConfig(id=node, site=site), Outbox(outbox))


class LinkProcess:
    """One node link in a process of its own (``python links.py SPEC``)."""

    def __init__(self, dest: dict[str, Any], site: str, node: str, where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        self.spec = json.dumps({"dest": dest, "site": site, "node": node,
                                "outbox": str(where / "outbox.sqlite")})  # fmt: skip
        self.log = where / "link.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        """Start it and wait until its link is connected."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, __file__, self.spec], stdout=out,
                                         stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + timeout
        while b"LINK CONNECTED" not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"node link did not connect: {self.tail()}")
            time.sleep(0.05)

    def kill(self) -> float:
        """SIGKILL it (a crash: no clean offline, the broker's will); the time it died."""
        assert self.proc is not None and self.proc.poll() is None, self.tail()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        return time.time()

    def stop(self) -> None:
        """Kill it if it still runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill()

    def tail(self) -> str:
        """The end of its output."""
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


def _main(spec: str) -> None:
    """Run one link until killed."""
    s = json.loads(spec)
    one = link(s["dest"], s["site"], s["node"], Path(s["outbox"]))
    one.start()
    if not one.wait_connected(15):
        sys.exit("LINK NOT CONNECTED")
    print("LINK CONNECTED", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    _main(sys.argv[1])
