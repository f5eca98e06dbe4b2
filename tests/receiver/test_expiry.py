"""Alerts long before anything expires (issue 22): ``cert_expiring`` and ``crl_expiring`` at
``expiry.warn_days`` (14) from the nodes' heartbeats (each link's ``cert_days``, ``ca_days``,
``crl_days``) and from the receiver's own files (its client certificate, the site CAs, the
CRLs it is told about), raised and cleared by the supervision loop's check. Time is an
explicit clock, never waited for; the store runs on both engines."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bounded import checker, commit, engine_store, open_alerts
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from timing import FakeClock

from edge.bench.fleet import SimNode
from edge.demo.pki import DemoCA
from edge.receiver.config import ReceiverConfig, loads
from edge.receiver.expiry import ExpiryCheck, expiry_ops
from edge.receiver.store.store import ReceiverStore
from edge.receiver.supervise import Supervisor
from edge.receiver.trust import Registry

DAY = 86400.0
NODE = SimNode("semarang", "gudang-01")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on each engine with one enrolled node (semarang/gudang-01)."""
    with engine_store(tmp_path, request) as s:
        s.enrol(NODE.site, NODE.node, NODE.key.pem)
        yield s


def write_crl(path: Path, next_update_days: float) -> Path:
    """A CRL (PEM) whose nextUpdate is *next_update_days* from now, at *path*."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "site CA")])
    now = dt.datetime.now(dt.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(name)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=next_update_days))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return path


def config(
    tmp: Path, ca: DemoCA, *, cert_days: float = 400, extra: str = "", tls: str = ""
) -> ReceiverConfig:
    """A receiver config whose client certificate is good for *cert_days*; *extra* lines go
    into its ``[expiry]`` table, *tls* lines into ``[broker.tls]``."""
    pair = ca.issue("receiver-expiry", valid_days=cert_days)
    return loads(
        f'[receiver]\nname = "expiry"\ndata_dir = "{tmp / "rx"}"\n'
        f'[broker]\nhost = "localhost"\n'
        f'[broker.tls]\nca = "{ca.ca_path}"\ncert = "{pair.cert}"\nkey = "{pair.key}"\n{tls}'
        f"[expiry]\n{extra}"
    )


def heartbeat(store: ReceiverStore, **links: dict[str, object]) -> None:
    """The node's signed heartbeat with *links*, checked and committed as the receiver does."""
    wire = NODE.heartbeat(links=links)
    topic, payload, props = wire
    verdict = checker(store).check(f"warehouse/{NODE.site}/{NODE.node}/{topic}", payload,
                                   dict(props))  # fmt: skip
    commit(store, [verdict])


def kinds(store: ReceiverStore) -> dict[tuple[str, str], str]:
    """Open expiry alerts: (kind, ref) -> detail."""
    out: dict[tuple[str, str], str] = {}
    for kind in ("cert_expiring", "crl_expiring"):
        for a in open_alerts(store, kind):
            out[(kind, str(a["ref"]))] = str(a["detail"])
    return out


def test_node_heartbeat_raises_and_a_renewal_clears(
    tmp_path: Path, store: ReceiverStore, ca: DemoCA
) -> None:
    """A node reporting its police certificate good for 10 days and its CRL for 20: at once
    cert_expiring (ref: the destination, the date in the detail), no crl_expiring; a week
    later, with no heartbeat since, the CRL's days are counted on from the heartbeat's time
    and crl_expiring is raised; a heartbeat after renewal clears both."""
    cfg = config(tmp_path, ca, extra="warn_days = 14\n")
    heartbeat(store, police={"connected": True, "cert_days": 10.0, "ca_days": 3000.0,
                             "crl_days": 20.0, "certificate_refused": None})  # fmt: skip
    clock = FakeClock(time.time())
    check = ExpiryCheck(cfg, store, clock=clock)
    check.check()
    open_now = {k: v for k, v in kinds(store).items() if k[1] in ("police", "police:ca")}
    assert list(open_now) == [("cert_expiring", "police")]
    assert (
        "client certificate of destination police expires" in open_now[("cert_expiring", "police")]
    )
    alert = open_alerts(store, "cert_expiring")[0]
    assert (alert["site"], alert["node"]) == (NODE.site, NODE.node)
    clock.advance(7 * DAY)
    check.check()
    assert ("crl_expiring", "police") in kinds(store)
    heartbeat(store, police={"cert_days": 800.0, "ca_days": 3000.0, "crl_days": 30.0})
    clock.now = time.time()
    ops = check.check()
    assert {(str(op.kind), op.ref) for op in ops if not op.raise_} >= {
        ("cert_expiring", "police"), ("crl_expiring", "police")}  # fmt: skip
    assert not [k for k in kinds(store) if k[1].startswith("police")]
    assert check.check() == []  # nothing changed: nothing written


def test_receiver_own_files_certificate_ca_and_crl(
    tmp_path: Path, store: ReceiverStore, ca: DemoCA
) -> None:
    """Run by the supervision loop: the receiver's client certificate good for 10 days is
    cert_expiring at once; the broker's CRL in crl_files good for 5 days is crl_expiring;
    a CRL file that cannot be read is alerted as such; the site CA (good for 30 days)
    only once the clock is 20 days on; a file dropped from the config is cleared."""
    crl = write_crl(tmp_path / "broker-crl.pem", 5)
    missing = tmp_path / "gone-crl.pem"
    cfg = config(tmp_path, ca, cert_days=10, extra=f'crl_files = ["{crl}", "{missing}"]\n')
    sup = Supervisor(cfg, store, Registry(store.identities()))
    sup.check()
    found = kinds(store)
    assert found[("cert_expiring", str(cfg.broker.tls.cert))].startswith(  # type: ignore[union-attr]
        "the receiver's client certificate CN=receiver-expiry expires"
    )
    assert (
        "past its nextUpdate the broker refuses every client" in found[("crl_expiring", str(crl))]
    )
    assert "cannot read" in found[("crl_expiring", str(missing))]
    assert not [k for k in found if "CA" in k[1]]  # the CA has 30 days left
    site_ca = [a for a in open_alerts(store, "cert_expiring") if a["node"] == ""]
    assert all(a["site"] == "" for a in site_ca)
    later = ExpiryCheck(cfg, store, clock=FakeClock(time.time() + 20 * DAY))
    later.check()
    assert [k for k in kinds(store) if "warehouse-edge demo CA" in k[1]]
    fewer = config(tmp_path, ca, extra=f'crl_files = ["{crl}"]\n')
    ExpiryCheck(fewer, store, clock=FakeClock(time.time())).check()
    assert ("crl_expiring", str(missing)) not in kinds(store)
    assert ("crl_expiring", str(crl)) in kinds(store)


def test_site_crl_beside_the_ca_and_broker_tls_crl_are_watched(tmp_path: Path, ca: DemoCA) -> None:
    """Without crl_files: broker.tls.crl is watched; unset, site-crl.pem beside the CA
    file is (where there is one). Pure: expiry_ops on an empty SQLite store."""
    s = ReceiverStore(f"sqlite:///{tmp_path / 'plain.db'}", tmp_path / "plain")
    try:
        named = write_crl(tmp_path / "named.pem", 3)
        cfg = config(tmp_path, ca, tls=f'crl = "{named}"\n')
        refs = {op.ref for op in expiry_ops(cfg, s, time.time()) if op.raise_}
        assert str(named) in refs
        site = DemoCA(tmp_path / "site")
        write_crl(site.ca_path.parent / "site-crl.pem", 2)
        cfg = config(tmp_path, site)
        refs = {op.ref for op in expiry_ops(cfg, s, time.time()) if op.raise_}
        assert str(site.ca_path.parent / "site-crl.pem") in refs
    finally:
        s.close()


def test_warn_days_is_bounded_and_described() -> None:
    """warn_days outside 1..365 is a config error naming the key; every field says what it is."""
    from edge.config.loader import ConfigError
    from edge.receiver.config import ExpirySection

    base = (
        '[receiver]\nname = "x"\ndata_dir = "/tmp/x"\n[broker]\nhost = "h"\nallow_insecure = true\n'
    )
    for bad in ("0", "400"):
        with pytest.raises(ConfigError, match="warn_days"):
            loads(base + f"[expiry]\nwarn_days = {bad}\n")
    assert all(f.description for f in ExpirySection.model_fields.values())
