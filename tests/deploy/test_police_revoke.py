"""Revocation reaches the broker, and several sites share one: broker.yml installs the
police_broker role on this machine (its files under a temporary directory, mosquitto run by
a systemctl stand-in, tests/deploy/policehost.py) for two sites' CAs, then revoke.yml, the
documented command, revokes a connected node of site 2. A real mosquitto started from the
role's rendered config refuses it afterwards; the others reconnect. Then `broker.yml --tags
crl` changes nothing and neither restarts nor reloads mosquitto."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from cryptography import x509
from policehost import (
    Client,
    PoliceHost,
    broker_host,
    clients,
    issue,
    listening,
    new_ca,
    pki,
)
from timing import wait_until

from edge.demo.broker import find_mosquitto, free_port
from edge.demo.pki import CertPair
from edge.demo.subscriber import Subscriber

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the role chowns files to root"),
]


@dataclass
class Province:
    """Two sites' CAs on one broker host, and the certificates the tests connect with."""

    host: PoliceHost
    s1: Path
    s2: Path
    certs: dict[str, CertPair]
    first_run: subprocess.CompletedProcess[str]


def recap(run: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The PLAY RECAP counts of police-test."""
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("police-test"))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    """Site 1 (node-a; the broker's and the receiver's certificates) and site 2 (node-d,
    node-e), both CAs on the broker (police_broker_ca_dirs); broker.yml run once."""
    base = tmp_path_factory.mktemp("province")
    port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        host = broker_host(
            base,
            port,
            {
                "police_broker_ca_dirs": [str(base / "s1" / "ca"), str(base / "s2" / "ca")],
                "police_broker_tls_src": str(base / "s1" / "localhost"),
                "police_broker_nodes": [
                    {"id": "node-a", "site": "s1"},
                    {"id": "node-d", "site": "s2"},
                    {"id": "node-e", "site": "s2"},
                ],
                "police_broker_receivers": ["receiver-test"],
            },
        )
        mp.setenv("EDGE_PKI_PASSPHRASE_FILE", host.env["EDGE_PKI_PASSPHRASE_FILE"])
        s1 = new_ca(base / "s1" / "ca", "site 1 CA")
        s2 = new_ca(base / "s2" / "ca", "site 2 CA")
        certs = {
            "node-a": issue(s1, "node-a"),
            "receiver-test": issue(s1, "receiver-test", "--role", "receiver"),
        }
        certs |= {cn: issue(s2, cn) for cn in ("node-d", "node-e")}
        broker = issue(s1, "localhost", "--role", "broker", "--server", "localhost")
        broker.cert.rename(broker.cert.with_name("broker.crt"))
        broker.key.rename(broker.key.with_name("broker.key"))
    try:
        run = host.playbook("-i", str(base / "inventory.ini"), "broker.yml")
        assert run.returncode == 0, run.stdout + run.stderr
        assert wait_until(lambda: listening(port), 10)
        yield Province(host, s1, s2, certs, run)
    finally:
        host.stop()


def test_broker_playbook_installs_both_sites(province: Province) -> None:
    """The CA bundle holds both sites' CAs and the CRL file both CRLs (the key 0640); the
    nodes of both sites and the receiver connect."""
    tls = province.host.etc / "tls"
    assert (tls / "ca.crt").read_text().count("BEGIN CERTIFICATE") == 2
    assert (tls / "crl.pem").read_text().count("BEGIN X509 CRL") == 2
    assert (tls / "broker.key").stat().st_mode & 0o777 == 0o640
    assert recap(province.first_run)["failed"] == 0
    with clients(province.host.port, province.s1 / "ca.crt", province.certs) as live:
        for name in ("node-a", "node-d", "node-e", "receiver-test"):
            assert wait_until(live[name].connected, 10), name


def reconnected(client: Client) -> bool:
    """Connected again after the broker's restart."""
    return client.connects >= 2 and client.connected()


def test_revoke_playbook_drops_and_refuses_the_connected_node(province: Province) -> None:
    """node-e of site 2, connected, is revoked by the documented command (revoke.yml with
    its certificate and site 2's CA directory): the play confirms the served CRL lists its
    serial and that mosquitto restarted after the CRL was written; node-e's connection is
    dropped and every retry refused, while node-a (site 1), node-d (site 2) and the receiver
    reconnect, and a receiver that was away finds in its persistent session what node-a
    sent before the restart."""
    host, ca = province.host, province.s1 / "ca.crt"
    away = Subscriber(host.port, str(ca), province.certs["receiver-test"],
                      client_id="receiver-session", persistent=True)  # fmt: skip
    away.start()
    away.stop()  # a receiver away, its session kept
    with clients(host.port, ca, province.certs) as live:
        assert wait_until(lambda: all(c.connected() for c in live.values()), 10)
        live["node-a"].publish("warehouse/s1/node-a/events", b'{"seq": 1}')
        cert = province.certs["node-e"].cert
        inventory = str(host.base / "inventory.ini")
        run = host.playbook("-i", inventory, "revoke.yml", "-e", f"revoke_cert={cert}",
                            "-e", f"revoke_ca_dir={province.s2}")  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        serial = format(x509.load_pem_x509_certificate(cert.read_bytes()).serial_number, "x")
        assert f"lists {serial}" in run.stdout
        assert "mosquitto restarted after the CRL was written" in run.stdout
        for name in ("node-a", "node-d", "receiver-test"):
            assert wait_until(partial(reconnected, live[name]), 10), name
        revoked = live["node-e"]
        assert wait_until(lambda: revoked.refusals() >= 3, 15), revoked.refusals()
        assert revoked.connects == 1 and not revoked.connected()
    back = Subscriber(host.port, str(ca), province.certs["receiver-test"],
                      client_id="receiver-session", persistent=True)  # fmt: skip
    back.start()
    try:  # what was queued for it survived the restart
        assert back.wait_for(lambda m: [x.topic for x in m] == ["warehouse/s1/node-a/events"], 10)
    finally:
        back.stop()
    log = host.base / "systemctl.log"
    before = log.read_text()
    again = host.playbook("-i", str(host.base / "inventory.ini"), "broker.yml", "--tags", "crl")
    assert again.returncode == 0 and recap(again)["changed"] == 0, again.stdout
    assert not {"restart", "reload"} & set(log.read_text()[len(before) :].split())


def both_crls(province: Province) -> str:
    """Site 1's and site 2's CRLs, one text."""
    return (province.s1 / "crl.pem").read_text() + (province.s2 / "crl.pem").read_text()


def test_every_ca_needs_its_crl_and_a_sighup_keeps_revoked_clients(
    province: Province, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the role deploys every CA's CRL and restarts for a revocation, on the rendered
    config with its own CRL file: holding only site 1's CRL, mosquitto refuses site 2's
    node-d (no CRL for its CA) and accepts node-a. Both CRLs and a SIGHUP: node-d connects
    (a reload re-reads the CRL for new connections). node-d revoked, CRL rewritten, SIGHUP:
    a new connection with its certificate is refused, but its open one stays (only a
    restart drops it); node-a stays connected throughout."""
    crl = tmp_path / "crl.pem"
    crl.write_text((province.s1 / "crl.pem").read_text())
    conf = (province.host.etc / "mosquitto.conf").read_text()
    port = free_port()
    conf = re.sub(r"(?m)^listener \d+ ", f"listener {port} ", conf)
    conf = re.sub(r"(?m)^crlfile .*$", f"crlfile {crl}", conf)
    conf = re.sub(r"(?m)^pid_file .*$", "", conf)
    conf = re.sub(r"(?m)^persistence_location .*$", f"persistence_location {tmp_path}/", conf)
    (tmp_path / "own-crl.conf").write_text(conf)
    proc = subprocess.Popen([find_mosquitto(), "-c", str(tmp_path / "own-crl.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    ca = province.s1 / "ca.crt"
    try:
        assert wait_until(lambda: listening(port), 10)
        certs = {n: province.certs[n] for n in ("node-a", "node-d")}
        with clients(port, ca, certs) as live:
            assert wait_until(live["node-a"].connected, 10)
            assert wait_until(lambda: live["node-d"].refusals() >= 2, 10)
            assert live["node-d"].connects == 0
            crl.write_text(both_crls(province))
            proc.send_signal(signal.SIGHUP)
            assert wait_until(live["node-d"].connected, 10)
            monkeypatch.setenv(
                "EDGE_PKI_PASSPHRASE_FILE", province.host.env["EDGE_PKI_PASSPHRASE_FILE"]
            )
            pki("revoke", "--ca-dir", province.s2, "--cert", province.certs["node-d"].cert)
            crl.write_text(both_crls(province))
            proc.send_signal(signal.SIGHUP)

            def refused() -> bool:  # mosquitto reloads when its loop gets to the signal
                with clients(port, ca, {"node-d-again": province.certs["node-d"]}) as probe:
                    twice = wait_until(lambda: probe["node-d-again"].refusals() >= 2, 5)
                    return twice and probe["node-d-again"].connects == 0

            assert wait_until(refused, 20)
            assert live["node-d"].connected() and live["node-d"].connects == 1
            assert live["node-a"].connects == 1 and live["node-a"].losses == 0
    finally:
        proc.terminate()
        proc.wait(10)
