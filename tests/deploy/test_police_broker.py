"""The police_broker role, for real: its templates rendered by Ansible (with the role's
defaults and its validation tasks), then a real mosquitto started from the rendered
config (only the address, port and file paths changed for the test) with certificates
from `edge pki`. Nodes write only under their own PREFIX/SITE/NODE, read nothing; a
receiver reads all; strangers and revoked nodes are turned away; and the role lints clean."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import structlog
from debroot import lint_deploy
from pkibroker import render
from timing import wait_until

from edge.cli.main import main
from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig, TlsConfig
from edge.demo.broker import find_mosquitto, free_port
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Subscriber
from edge.link.mqtt import MqttLink
from edge.node.heartbeat import link_health
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ROLE = DEPLOY / "roles" / "police_broker"
NOT_AUTHORIZED = "Not authorized"
NODES = [{"id": "node-a", "site": "s1"}, {"id": "node-b", "site": "s1"}]


def pki(*argv: str | Path) -> None:
    """``edge pki ARGV...``, which must succeed."""
    assert main(["pki", *(str(a) for a in argv)]) == 0, argv


def issue(ca: Path, cn: str, *role: str) -> CertPair:
    """Key, request and certificate for *cn*, made by `edge pki csr` and `edge pki sign`."""
    d = ca.parent / cn
    pki("csr", "--key", d / "tls" / "key.pem", "--csr", d / "req.csr", "--cn", cn)
    pki("sign", "--ca-dir", ca, "--csr", d / "req.csr", "--out", d / "cert.pem", *role)
    return CertPair(d / "cert.pem", d / "tls" / "key.pem")


@dataclass
class PoliceBroker:
    """The running broker and the certificates the tests connect with."""

    port: int
    ca: Path
    conf: str
    acl: str
    log: Path
    certs: dict[str, CertPair]


@pytest.fixture(scope="module")
def police(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PoliceBroker]:
    """The role's config and ACL for node-a and node-b (site s1), node-c (revoked) and
    receiver-test, rendered by Ansible, running in a real mosquitto on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("police")
    ca = tmp / "ca"
    pki("init-ca", "--dir", ca, "--name", "police test CA", "--no-passphrase")
    certs = {cn: issue(ca, cn) for cn in ("node-a", "node-b", "node-c")}
    certs["receiver-test"] = issue(ca, "receiver-test", "--role", "receiver")
    broker = issue(ca, "localhost", "--role", "broker", "--server", "localhost")
    pki("revoke", "--ca-dir", ca, "--cert", certs["node-c"].cert)
    certs["stranger"] = DemoCA(tmp / "other", name="other CA").issue("node-a")
    port = free_port()
    (tmp / "data").mkdir()
    done = render(
        tmp,
        {
            "police_broker_bind_address": "127.0.0.1",
            "police_broker_port": port,
            "police_broker_nodes": [*NODES, {"id": "node-c", "site": "s1"}],
            "police_broker_receivers": ["receiver-test"],
            "police_broker_cafile": str(ca / "ca.crt"),
            "police_broker_certfile": str(broker.cert),
            "police_broker_keyfile": str(broker.key),
            "police_broker_crlfile": str(ca / "crl.pem"),
            "police_broker_acl_file": str(tmp / "acl"),
            "police_broker_persistence_dir": str(tmp / "data"),
            "police_broker_log_dest": f"file {tmp / 'mosquitto.log'}",
            "police_broker_user": "root" if os.geteuid() == 0 else "",
            "police_broker_pid_file": "",
            "police_broker_tls_src": str(tmp / "localhost"),
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    proc = subprocess.Popen(
        [find_mosquitto(), "-c", str(tmp / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
            assert time.monotonic() < deadline, "mosquitto did not listen"
            time.sleep(0.05)
        yield PoliceBroker(
            port,
            ca / "ca.crt",
            (tmp / "mosquitto.conf").read_text(),
            (tmp / "acl").read_text(),
            tmp / "mosquitto.log",
            certs,
        )
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alarm(i: int) -> OutboxMessage:
    """An alarm event numbered *i*."""
    body = json.dumps({"seq": i, "kind": "door_open"}).encode()
    return OutboxMessage(f"ev-{i:05d}", Priority.ALARM, "door_open", "events", body, time.time())


def refusals(x: MqttLink) -> int:
    """How many publishes of *x* the broker refused as not authorized."""
    return x.stats.refusals[NOT_AUTHORIZED]


def link(tmp: Path, police: PoliceBroker, cert: str, node: str, site: str = "s1") -> MqttLink:
    """A node's delivery link (node id *node* at *site*) presenting *cert*'s certificate,
    with alarm 1 queued; started."""
    outbox = Outbox(tmp / f"{cert}-{node}-{site}.sqlite")
    outbox.put(alarm(1), ["police"])
    pair = police.certs[cert]
    tls = TlsConfig(ca=str(police.ca), cert=str(pair.cert), key=str(pair.key))
    dest = DestinationConfig(name="police", host="localhost", port=police.port, tls=tls)
    started = MqttLink(dest, NodeConfig(id=node, site=site), outbox, refusal_retry_max_s=2.0)
    started.start()
    return started


@pytest.fixture
def watch(police: PoliceBroker) -> Iterator[Callable[[str, str], Subscriber]]:
    """Factory: a subscriber to *topic* with *cert*'s certificate, stopped at teardown."""
    started: list[Subscriber] = []

    def start(cert: str, topic: str) -> Subscriber:
        s = Subscriber(
            police.port, str(police.ca), police.certs[cert], topic=topic, client_id=f"w-{cert}"
        )
        started.append(s)
        s.start()
        return s

    yield start
    for s in started:
        s.stop()


def test_rendered_config_is_locked_down(police: PoliceBroker) -> None:
    """One listener (TLS, the configured address), certificates required and used as user
    names, the CRL checked, no anonymous clients, persistent sessions for 14 days with a
    200,000-message queue; the ACL grants each node its own site and id only."""
    lines = [ln for ln in police.conf.splitlines() if ln and not ln.startswith("#")]
    assert [ln for ln in lines if ln.startswith(("listener", "port "))] == [
        f"listener {police.port} 127.0.0.1"
    ]
    for setting in (
        "allow_anonymous false",
        "require_certificate true",
        "use_identity_as_username true",
        "persistence true",
        "persistent_client_expiration 14d",
        "max_queued_messages 200000",
        "tls_version tlsv1.2",
    ):
        assert setting in lines, setting
    assert any(ln.startswith("crlfile ") for ln in lines)
    assert "user node-a\ntopic write warehouse/s1/node-a/#\n" in police.acl
    assert "user receiver-test\ntopic read warehouse/#\n" in police.acl
    assert "pattern" not in police.acl and "topic read" not in police.acl.split("receiver")[0]


@pytest.mark.parametrize("topic", ["warehouse/#", "$share/police-receivers/warehouse/#"])
def test_node_publishes_its_own_topics_and_the_receiver_gets_them(
    tmp_path: Path, police: PoliceBroker, watch: Callable[[str, str], Subscriber], topic: str
) -> None:
    """node-a's alarm under warehouse/s1/node-a is acknowledged and reaches the receiver
    (subscribed to all of warehouse/#, plainly or as a shared subscription); node-b,
    subscribed to everything, receives nothing."""
    receiver = watch("receiver-test", topic)
    nosy = watch("node-b", "warehouse/#")
    a = link(tmp_path, police, "node-a", "node-a")
    try:
        assert a.wait_connected(10)
        assert wait_until(lambda: a.outbox.total() == 0, 10)
        assert receiver.wait_for(
            lambda m: any(x.topic == "warehouse/s1/node-a/events" for x in m), 10
        )
    finally:
        a.shutdown()
    assert a.stats.delivery_error is None and not a.stats.refusals
    assert [e["seq"] for e in receiver.events()] == [1]
    time.sleep(0.5)
    assert nosy.messages == []


def test_node_cannot_publish_as_another_node_or_site(
    tmp_path: Path, police: PoliceBroker, watch: Callable[[str, str], Subscriber]
) -> None:
    """node-a's certificate with node-b's id, or with its own id at another site: every
    publish is refused with MQTT 5 reason 0x87 Not authorized, logged with its code, and
    reported in the link's health (refusals, delivery_error naming reason and topic); the
    alarm stays queued and the receiver sees nothing."""
    receiver = watch("receiver-test", "warehouse/#")
    with structlog.testing.capture_logs() as logged:
        links = [
            link(tmp_path, police, "node-a", "node-b"),
            link(tmp_path, police, "node-a", "node-a", site="s2"),
        ]
        try:
            for x in links:
                assert x.wait_connected(10)
                assert wait_until(partial(refusals, x), 10)
        finally:
            for x in links:
                x.shutdown()
    refused = [x for x in logged if x["event"] == "mqtt.publish_refused"]
    assert refused and all(e["code"] == "0x87" for e in refused)
    assert {e["topic"] for e in refused} >= {
        "warehouse/s1/node-b/events",
        "warehouse/s2/node-a/events",
    }
    for x, topic in zip(links, ("warehouse/s1/node-b", "warehouse/s2/node-a"), strict=True):
        health = link_health(x)
        assert health["refusals"][NOT_AUTHORIZED] >= 1
        assert NOT_AUTHORIZED in health["delivery_error"] and topic in health["delivery_error"]
        assert x.outbox.total() == 1
    assert receiver.events() == []


@pytest.mark.parametrize("cert", ["stranger", "node-c"])
def test_foreign_and_revoked_certificates_are_refused(
    tmp_path: Path, police: PoliceBroker, cert: str
) -> None:
    """A certificate of another CA (even with an allowed CN) and node-c's revoked one never
    connect: the link names the rejected client certificate and keeps its alarm."""
    x = link(tmp_path, police, cert, "node-a" if cert == "stranger" else "node-c")
    try:
        assert wait_until(lambda: x.stats.last_error, 15)
    finally:
        x.shutdown()
    error = x.stats.last_error or ""
    assert "client certificate" in error and "reject" in error, error
    assert x.stats.connects == 0 and x.outbox.total() == 1


def test_role_and_pki_playbook_lint_clean() -> None:
    """`ansible-lint --profile production` passes on the police roles and playbooks and
    deploy/pki.yml: the one lint of all of deploy/ (lint_deploy, shared with test_deploy)
    covers them."""
    parts = ["roles/police_broker", "roles/warehouse_receiver", "pki.yml"]
    parts += ["broker.yml", "receiver.yml", "revoke.yml"]
    assert all((DEPLOY / part).exists() for part in parts), parts
    lint = lint_deploy()
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_validation_refuses_a_node_id_used_twice(tmp_path: Path) -> None:
    """Two sites with one node id would merge their ACL entries: rendering fails, naming
    the repeated ids; so does a missing listener address, and a misspelt variable
    (police_broker_receiver) fails naming it and the variable meant."""
    nodes = [{"id": "wh-01", "site": "ams"}, {"id": "wh-01", "site": "rtm"}]
    done = render(
        tmp_path,
        {
            "police_broker_bind_address": "10.0.0.1",
            "police_broker_nodes": nodes,
            "police_broker_tls_src": "/x",
        },
    )
    assert done.returncode != 0 and "node ids repeat" in done.stdout
    assert not (tmp_path / "acl").exists()
    done = render(tmp_path, {"police_broker_nodes": NODES, "police_broker_tls_src": "/x"})
    assert done.returncode != 0 and "police_broker_bind_address" in done.stdout
    done = render(
        tmp_path,
        {"police_broker_bind_address": "10.0.0.1", "police_broker_receiver": ["receiver-x"]},
    )
    assert done.returncode != 0
    assert "police_broker_receiver: not a variable of the police_broker role" in done.stdout
    assert "did you mean police_broker_receivers?" in done.stdout
