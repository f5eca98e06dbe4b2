"""The node's state files are its own: run under a umask of 022 (not systemd's 077), every
file it leaves in its data directory is 0600 or 0640 and every directory 0700 or 0750; the
outbox (with its -wal and -shm), its state and its reserve are 0600. The red team found
outbox.sqlite 0644."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import Subscribe
from nodecfg import node_config, sensor, tls_destination

from edge.config.loader import loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.node.node import Node

pytestmark = pytest.mark.faults


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_files_are_private_whatever_the_umask(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """A node that ran (an event delivered, a heartbeat written) under umask 022: no file
    in its data directory is readable by others or writable by its group."""
    old = os.umask(0o022)
    try:
        data = tmp_path / "data"
        text = node_config(
            data, "modes", mock_gpio=True, sensors=[sensor("door", "door", pin=17)],
            destinations=[tls_destination(broker, ca, node_cert)],
        )  # fmt: skip
        police = subscribe("warehouse/s/modes/#", client_id="modes-watch")
        node = Node(loads(text))
        node.start()
        try:
            assert node.links[0].wait_connected(10)
            node.pin_factory.pin(17).drive_high()
            assert police.wait_for(lambda m: any(x.topic.endswith("/events") for x in m), 10)
            node.heartbeat()
            outbox = [
                data / f"outbox.sqlite{s}" for s in ("", "-wal", "-shm", ".state", ".reserve")
            ]
            for path in outbox:
                assert _mode(path) == 0o600, path
        finally:
            node.stop()
    finally:
        os.umask(old)
    files = [p for p in data.rglob("*") if p.is_file()]
    assert len(files) >= 6
    loose = {str(p.relative_to(data)): oct(_mode(p)) for p in files if _mode(p) & 0o037}
    assert not loose
    dirs = [p for p in data.rglob("*") if p.is_dir()]
    assert not {str(p.relative_to(data)): oct(_mode(p)) for p in dirs if _mode(p) & 0o027}
