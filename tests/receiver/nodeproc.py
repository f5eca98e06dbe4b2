"""The real node daemon for the receiver's end-to-end tests: ``python -m edge run --config
node.toml`` as a subprocess (as systemd runs it), its log kept in a file, always killed."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.evidence.keys import NodeKey, public_pem
from edge.receiver.store.store import ReceiverStore


class NodeProcess:
    """One node daemon on *config* (a ``node.toml``); :meth:`start` may be called again
    after :meth:`kill` (a restart with the same config and data)."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the daemon; its stdout and stderr go to the log (appended)."""
        assert not self.running(), "node already running"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge", "run", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def running(self) -> bool:
        """Is the daemon running?"""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the daemon (a power cut: no offline status, no clean disconnect)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def tail(self, chars: int = 3000) -> str:
        """The end of the daemon's log (for assertion messages)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        code = None if self.proc is None else self.proc.poll()
        return f"[node exit {code}]\n{text[-chars:]}"


@contextmanager
def node_daemon(config_text: str, where: Path) -> Iterator[NodeProcess]:
    """Write *config_text* to WHERE/node.toml, start the daemon on it, and kill it at the
    end whatever happens."""
    where.mkdir(parents=True, exist_ok=True)
    config = where / "node.toml"
    config.write_text(config_text)
    node = NodeProcess(config, where / "node.log")
    try:
        node.start()
        yield node
    finally:
        node.kill()


def enrol_node(store: ReceiverStore, site: str, node: str, key_path: Path) -> None:
    """Enrol the node whose signing key is *key_path* (its public half, as
    ``edge keys export`` hands it over)."""
    store.enrol(site, node, public_pem(NodeKey(key_path).public))
