"""A revoked or untrusted node says so (issue 22, finding 8): the red team saw one line
("broker not listening", left over from before the broker was up) and then nothing while the
broker refused it 18 times. Now each refusal is judged from the broker's TLS alert, logged
as ``certificate revoked or not trusted`` with the destination, the broker and the cause (at
once, then every ``REPEAT_S`` with a count), stands in the node's reasons
(``certificate_refused:DEST:CAUSE``, alerted at the police as node_degraded) and clears
when the broker accepts the certificate again. Against a real mosquitto with a CRL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from timing import FakeClock, wait_until
from traffic import tls_dest

from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig, TlsConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.link import certrefused
from edge.link.certrefused import PROBLEM, CertRefusals, cause_of
from edge.link.linkstats import LinkStats
from edge.link.mqtt import MqttLink
from edge.node.status import node_state
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults

Events = list[MutableMapping[str, Any]]


@pytest.fixture
def log_events() -> Iterator[Events]:
    """The structured log events emitted during the test (every thread)."""
    with structlog.testing.capture_logs() as captured:
        yield captured


def _named(events: Events, name: str) -> Events:
    return [e for e in list(events) if e["event"] == name]


def write_crl(ca: DemoCA, path: Path, *revoked: CertPair) -> Path:
    """A CRL of *ca* (signed with its key) listing *revoked*, good for 30 days, at *path*."""
    now = dt.datetime.now(dt.UTC)
    issuer = x509.load_pem_x509_certificate(ca.ca_path.read_bytes()).subject
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=30))
    )
    for pair in revoked:
        serial = x509.load_pem_x509_certificate(pair.cert.read_bytes()).serial_number
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(ca._key, hashes.SHA256())
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return path


def _parts(link: MqttLink) -> SimpleNamespace:
    """What node_state reads of a node, with this one link."""
    return SimpleNamespace(
        outbox=SimpleNamespace(recovered=None, reserve=SimpleNamespace(missing=False)),
        sink=SimpleNamespace(fault=None), blocked={}, cameras=[], sensors=[], sirens=[],
        links=[link],
    )  # fmt: skip


def test_revoked_and_untrusted_nodes_say_so_and_keep_saying_it(
    tmp_path: Path, log_events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Links start while the broker is down (connection refused), then mosquitto comes up
    with a CRL that revokes wh-02, and wh-03's certificate is from a CA it does not
    trust: each link logs ``certificate revoked or not trusted`` naming destination, broker
    and cause (revoked; unknown CA), again after the repeat interval with the refusals
    since, its last_error says so (not the stale 'not listening') and the node's reasons
    carry ``certificate_refused:police:CAUSE``. Once the CRL no longer lists wh-02 the
    broker accepts it: the reason clears and the link says how many refusals there were."""
    monkeypatch.setattr(certrefused, "REPEAT_S", 1.0)
    site, other = DemoCA(tmp_path / "site"), DemoCA(tmp_path / "other", "another site CA")
    revoked, stranger = site.issue("wh-02"), other.issue("wh-03")
    crl = write_crl(site, tmp_path / "crl.pem", revoked)
    broker = LocalBroker(tmp_path / "broker", site, crlfile=crl)
    links = {}
    for name, pair in (("wh-02", revoked), ("wh-03", stranger)):
        dest = tls_dest(broker, site.ca_path, pair, reconnect_max_s=1.0)
        links[name] = MqttLink(dest, NodeConfig(id=name, site="s"), Outbox(tmp_path / name))
        links[name].start()
    try:
        assert wait_until(lambda: len(_named(log_events, "mqtt.connect_failed")) >= 2, 15)
        assert "not listening" in str(links["wh-02"].stats.last_error)
        broker.start()

        assert wait_until(lambda: links["wh-02"].stats.certificate_refused == "revoked", 15)
        assert wait_until(lambda: links["wh-03"].stats.certificate_refused is not None, 15)
        assert links["wh-03"].stats.certificate_refused in ("unknown_ca", "rejected")
        assert wait_until(lambda: len(_named(log_events, "mqtt.certificate_refused")) >= 4, 15)
        lines = _named(log_events, "mqtt.certificate_refused")
        assert all(e["problem"] == PROBLEM == "certificate revoked or not trusted" for e in lines)
        assert all(e["broker"] == f"localhost:{broker.tls_port}" for e in lines)
        assert all(e["log_level"] == "error" and e["destination"] == "police" for e in lines)
        causes = {e["cause"] for e in lines}
        assert "revoked" in causes and causes & {"unknown_ca", "rejected"}
        assert any(e["refusals"] > 1 and e["since_last_line"] >= 1 for e in lines)
        for node, link in links.items():
            error = str(link.stats.last_error)
            assert PROBLEM in error and "client certificate" in error, (node, error)
            cause = link.stats.certificate_refused
            assert f"certificate_refused:police:{cause}" in node_state(_parts(link)).reasons
            assert link.stats.connects == 0 and not link.connected
        write_crl(site, crl)  # wh-02 no longer revoked
        broker.restart()
        assert links["wh-02"].wait_connected(15)
        assert links["wh-02"].stats.certificate_refused is None
        assert not [r for r in node_state(_parts(links["wh-02"])).reasons if "certificate" in r]
        back = _named(log_events, "mqtt.certificate_accepted")
        assert back and back[0]["refusals"] >= 2
    finally:
        for link in links.values():
            link.shutdown()
        broker.stop()


def test_told_at_once_then_every_interval_with_the_count(log_events: Events) -> None:
    """60 refusals 10 s apart (explicit clock): one line at the first, one 300 s later
    standing for the 30 since; accepted again, one line with all 60."""
    clock = FakeClock()
    tls = TlsConfig(ca="/nonexistent/ca.crt", cert="/n/node.crt", key="/n/node.key")
    dest = DestinationConfig(name="police", host="polda.example", port=8883, tls=tls)
    stats = LinkStats()
    book = CertRefusals(dest, stats, clock=clock, every_s=300)
    for _ in range(60):
        book.refused("revoked")
        clock.advance(10)
    lines = _named(log_events, "mqtt.certificate_refused")
    assert [(e["refusals"], e["since_last_line"], e["refused_s"]) for e in lines] == [
        (1, 1, 0.0), (31, 30, 300.0)]  # fmt: skip
    assert lines[0]["broker"] == "polda.example:8883" and stats.certificate_refused == "revoked"
    book.connected()
    assert [e["refusals"] for e in _named(log_events, "mqtt.certificate_accepted")] == [60]
    assert stats.certificate_refused is None
    book.connected()  # nothing was refused: nothing to say
    assert len(_named(log_events, "mqtt.certificate_accepted")) == 1


@pytest.mark.parametrize(
    ("text", "cause"),
    [("[SSL: SSLV3_ALERT_CERTIFICATE_REVOKED] sslv3 alert certificate revoked", "revoked"),
     ("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:1006)", "unknown_ca"),
     ("[SSL: TLSV1_ALERT_DECRYPT_ERROR] tlsv1 alert decrypt error (_ssl.c:2580)", "unknown_ca"),
     ("[SSL: SSLV3_ALERT_CERTIFICATE_EXPIRED] sslv3 alert certificate expired", "expired"),
     ("failed to receive on socket: EOF occurred in violation of protocol", "rejected"),
     ("[Errno 111] Connection refused", None),
     ("certificate verify failed: certificate has expired", None)],
)  # fmt: skip
def test_causes_from_the_tls_alert(text: str, cause: str | None) -> None:
    """OpenSSL's alert texts map to a cause; a refused TCP connection or the broker's own
    expired certificate (a different problem, named by the link as before) to none."""
    assert cause_of(text) == cause


def test_the_nodes_own_files_name_what_tls_13_does_not(tmp_path: Path) -> None:
    """The broker only closed the connection (TLS 1.3): a certificate the node's CRL lists
    is named revoked, one past its notAfter expired; with neither, 'rejected' (a close
    without any error too). Without a client certificate nothing is judged."""
    ca = DemoCA(tmp_path / "ca")
    listed, old = ca.issue("listed", valid_days=100), ca.issue(
        "old", valid_days=1, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=5))  # fmt: skip
    plain = ca.issue("plain", valid_days=100)
    crl = write_crl(ca, tmp_path / "node-crl.pem", listed)
    eof = OSError("EOF occurred in violation of protocol (_ssl.c:2427)")
    for pair, expected in ((listed, "revoked"), (old, "expired"), (plain, "rejected")):
        tls = TlsConfig(ca=str(ca.ca_path), cert=str(pair.cert), key=str(pair.key), crl=str(crl))
        stats = LinkStats()
        why = CertRefusals(DestinationConfig(name="police", host="h", tls=tls), stats).judge(eof)
        assert stats.certificate_refused == expected and why and PROBLEM in why
    quiet = TlsConfig(ca=str(ca.ca_path), cert=str(plain.cert), key=str(plain.key))
    stats = LinkStats()  # closed without a word before CONNACK: rejected all the same
    assert CertRefusals(DestinationConfig(name="p", host="h", tls=quiet), stats).judge(None)
    assert stats.certificate_refused == "rejected"
    bare = DestinationConfig(name="lab", host="h", tls=TlsConfig(ca=str(ca.ca_path)))
    assert CertRefusals(bare, LinkStats()).judge(eof) is None
