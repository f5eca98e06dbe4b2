"""The heartbeat's expiry figures (issue 22): each link reports ``cert_days`` (its client
certificate), ``ca_days`` (its CA file) and ``crl_days`` (the CRL kept on the node:
``tls.crl``, or ``site-crl.pem`` beside the CA file), as the schema says; the receiver's
wire check takes numbers and null and refuses anything else, naming the field."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest
from test_expiry import write_crl

from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig, TlsConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.link.mqtt import MqttLink
from edge.node.heartbeat import link_health
from edge.outbox.store import Outbox
from edge.receiver import validate
from edge.wire.certdays import tls_days

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "edge" / "schemas" / "health.schema.json").read_text())


def test_link_entry_reports_days_of_its_files(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA
) -> None:
    """A link whose certificate is good for 10 days and whose CA file holds the site CA
    reports both to a tenth of a day; with no CRL beside the CA, crl_days is null; the
    entry matches the schema and passes the receiver's wire check."""
    pair = ca.issue("expiry-node", valid_days=10)
    tls = TlsConfig(ca=str(ca.ca_path), cert=str(pair.cert), key=str(pair.key))
    dest = DestinationConfig(name="police", host="localhost", port=broker.tls_port, tls=tls)
    link = MqttLink(dest, NodeConfig(id="exp", site="s"), Outbox(tmp_path / "o.sqlite"))
    now = time.time()
    entry = link_health(link, now)
    assert 9.8 <= entry["cert_days"] <= 10.0
    assert entry["ca_days"] is not None and entry["ca_days"] > entry["cert_days"] - 1
    assert entry["crl_days"] is None and entry["certificate_refused"] is None
    health = {"links": {"police": entry}}
    jsonschema.validate(entry, SCHEMA["properties"]["links"]["additionalProperties"])
    validate.health(health)


def test_crl_named_or_beside_the_ca(tmp_path: Path) -> None:
    """``tls.crl`` names the CRL; unset, ``site-crl.pem`` beside the CA file is read; a file
    that cannot be read reports null (the link itself names unreadable files at start)."""
    ca = DemoCA(tmp_path / "site")
    pair = ca.issue("n1", valid_days=100)
    now = time.time()
    named = write_crl(tmp_path / "elsewhere.pem", 20)
    tls = TlsConfig(ca=str(ca.ca_path), cert=str(pair.cert), key=str(pair.key), crl=str(named))
    assert 19.8 <= (tls_days(tls, now)["crl_days"] or 0) <= 20.0
    plain = TlsConfig(ca=str(ca.ca_path), cert=str(pair.cert), key=str(pair.key))
    assert tls_days(plain, now)["crl_days"] is None
    write_crl(ca.ca_path.parent / "site-crl.pem", 3)
    assert 2.8 <= (tls_days(plain, now)["crl_days"] or 0) <= 3.0
    (ca.ca_path.parent / "site-crl.pem").write_text("not a CRL")
    assert tls_days(plain, now)["crl_days"] is None
    assert tls_days(None, now) == {"cert_days": None, "ca_days": None, "crl_days": None}


@pytest.mark.parametrize(
    ("field", "value"),
    [("cert_days", "soon"), ("crl_days", True), ("ca_days", [1]), ("cert_days", {"d": 1}),
     ("certificate_refused", 5), ("certificate_refused", "x" * 300)],
)  # fmt: skip
def test_wire_check_refuses_bad_types(field: str, value: object) -> None:
    """A link entry whose expiry field is not a number (or null), or whose refusal cause is
    not short text, is refused with the field named."""
    with pytest.raises(validate.Invalid, match=field):
        validate.health({"links": {"police": {field: value}}})


def test_wire_check_takes_numbers_and_null() -> None:
    """Integers, fractions, negatives (expired) and null pass."""
    validate.health({"links": {"police": {"cert_days": 12, "ca_days": -0.5, "crl_days": None,
                                          "certificate_refused": "revoked"}}})  # fmt: skip


def test_docs_name_the_fields_and_alerts_and_the_snippet_loads() -> None:
    """docs/mqtt.md names each link expiry field and the refusal log; docs/receiver.md's
    alert table names every alert kind, and its ``[expiry]`` snippet loads with the
    defaults it states."""
    from edge.receiver.alerts import AlertKind
    from edge.receiver.config import ExpirySection, loads

    mqtt = (ROOT / "docs" / "mqtt.md").read_text()
    for name in (*validate.LINK_DAYS, "certificate_refused", "certificate revoked or not trusted"):
        assert name in mqtt, name
    receiver = (ROOT / "docs" / "receiver.md").read_text()
    table = receiver[receiver.index("| alert | raised | cleared |") :]
    table = table[: table.index("\n\n")]
    assert all(f"`{k}`" in table for k in AlertKind), [k for k in AlertKind if k not in table]
    snippet = next(
        b.split("```", 1)[0] for b in receiver.split("```toml\n")[1:] if "warn_days" in b
    )
    head = (
        '[receiver]\nname = "r"\ndata_dir = "/tmp/r"\n[broker]\nhost = "h"\nallow_insecure = true\n'
    )
    cfg = loads(head + snippet)
    defaults = ExpirySection()
    assert (cfg.expiry.warn_days, cfg.expiry.check_interval_s) == (
        defaults.warn_days, defaults.check_interval_s)  # fmt: skip
    assert "broker.unresolved" in receiver
