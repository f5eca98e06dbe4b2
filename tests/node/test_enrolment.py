"""A destination whose client certificate (or key) is not there yet waits for it while the rest
of the node runs: a node not enrolled yet (first boot made its key and request) runs its
sensors and sirens, says what it waits for, and connects once the certificate is installed.
Files that are there but wrong are still a configuration error (exit 2)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from conftest import Subscribe
from nodecfg import node_config, tls_destination
from pinned import PinnedNode, smoke_node
from timing import wait_until

from edge.config.loader import loads
from edge.config.preflight import preflight
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.node.enrolment import forgiven, waiting_destinations


def _pending(tmp_path: Path, node_cert: CertPair) -> CertPair:
    """The node's key where the config says, its certificate not (yet)."""
    pair = CertPair(tmp_path / "tls" / "node.crt", tmp_path / "tls" / "node.key")
    pair.key.parent.mkdir()
    shutil.copy(node_cert.key, pair.key)
    os.chmod(pair.key, 0o600)
    return pair


def test_a_destination_waits_while_its_certificate_or_key_is_missing_or_empty(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair
) -> None:
    """Certificate missing or an empty placeholder, or the key missing: the destination waits
    (naming the file) and its TLS problems are forgiven at start; both there: no wait, and
    a certificate that does not belong to the key is a configuration problem again."""
    pair = _pending(tmp_path, node_cert)
    cfg = loads(
        node_config(tmp_path / "data", "n1", destinations=[tls_destination(broker, ca, pair)])
    )
    assert waiting_destinations(cfg) == {"police": (pair.cert, f"no certificate at {pair.cert}")}
    assert preflight(cfg) and forgiven(cfg, preflight(cfg), ["police"]) == []
    pair.cert.write_bytes(b"")  # the first-boot unit's placeholder
    assert waiting_destinations(cfg) == {"police": (pair.cert, f"empty certificate {pair.cert}")}
    shutil.copy(node_cert.cert, pair.cert)
    pair.key.unlink()
    assert waiting_destinations(cfg) == {"police": (pair.key, f"no key at {pair.key}")}
    shutil.copy(node_cert.key, pair.key)
    os.chmod(pair.key, 0o600)
    assert waiting_destinations(cfg) == {}
    assert preflight(cfg) == []
    other = ca.issue("another-node")
    shutil.copy(other.cert, pair.cert)
    assert waiting_destinations(cfg) == {}
    assert any("does not belong to the certificate" in p for p in preflight(cfg))


def test_edge_run_without_its_certificate_runs_and_connects_once_it_is_installed(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """The daemon of a node not enrolled yet is ready (sensors and sirens running), says it
    waits for the certificate and names it, its lamp blinks degraded; the certificate
    installed, it connects to the police within seconds; SIGTERM stops it, 0."""
    pair = _pending(tmp_path, node_cert)
    config = tmp_path / "node.toml"
    config.write_text(smoke_node(tmp_path / "data", "enrol-1", broker, ca, pair))
    police = subscribe("warehouse/safe/enrol-1/#", client_id="enrol-1-watch")
    node = PinnedNode(config).start()
    try:
        assert node.wait_status(f"destination_waiting:police:{pair.cert}", 60), node.tail()
        waiting = node.records("node.degraded")
        assert waiting and "edge pki sign" in waiting[0]["note"]
        lamp = lambda: any(r["status"] == "degraded" for r in node.records("status_led"))  # noqa: E731
        assert wait_until(lamp, 5), node.tail()  # the lamp blinks degraded
        shutil.copy(node_cert.cert, pair.cert)
        assert police.wait_for(lambda m: any(b'"online"' in x.payload for x in m), 15)
        assert node.wait_record("destination.ready", 5)
    finally:
        node.send(signal.SIGTERM)
        assert node.wait(30) == 0, node.tail()


def test_a_certificate_of_another_key_still_exits_2(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair
) -> None:
    """Files that are there but do not fit each other are a configuration problem: one line,
    exit 2 (systemd does not restart it)."""
    pair = _pending(tmp_path, node_cert)
    shutil.copy(ca.issue("someone-else").cert, pair.cert)
    config = tmp_path / "node.toml"
    config.write_text(
        node_config(tmp_path / "data", "n2", destinations=[tls_destination(broker, ca, pair)])
    )
    done = subprocess.run([sys.executable, "-m", "edge", "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "does not belong to the certificate" in done.stderr
