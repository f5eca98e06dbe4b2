"""The CA host's CRL timer: systemd/warehouse-pki-crl@.service's own ExecStart (read from
the unit, run as the service would, the clock moved with libfaketime, never waited for)
leaves a CRL with weeks left alone without reading the key, renews it once fewer than 30 of
its 45 days are left, and renews an expired one: a real mosquitto from the police_broker
role's rendered config refuses a valid, unrevoked node with the expired CRL and accepts it
after the renewal (the revoked node stays refused)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from crlunit import environment, run_unit
from cryptography import x509
from pkibroker import RoleBroker

pytestmark = pytest.mark.skipif(
    shutil.which("faketime") is None, reason="faketime not installed (apt: faketime)"
)
PASSPHRASE = "correct horse battery staple"


def edge(home: Path, *argv: str | Path, shift: str | None = None) -> str:
    """``edge ARGV`` as the technician whose home is *home* (the passphrase from the
    unit's credential); its stdout. Must succeed."""
    cmd = [str(Path(sys.executable).parent / "edge"), *(str(a) for a in argv)]
    if shift:
        cmd = ["faketime", "-f", shift, *cmd]
    env = environment(home, home.parent / "creds")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, (argv, done.stderr)
    return done.stdout


def ca_dir(home: Path) -> Path:
    """The CA's default directory under *home*."""
    return home / ".local" / "share" / "warehouse-edge" / "pki" / "ca"


def next_update(home: Path) -> dt.datetime:
    """The CRL's next update."""
    crl = x509.load_pem_x509_crl((ca_dir(home) / "crl.pem").read_bytes())
    assert crl.next_update_utc is not None
    return crl.next_update_utc


def days_ahead(when: dt.datetime) -> float:
    """Days from the real now to *when*."""
    return (when - dt.datetime.now(dt.UTC)).total_seconds() / 86400


@pytest.mark.slow
def test_timer_unit_renews_the_crl_only_when_fewer_than_30_days_are_left(tmp_path: Path) -> None:
    """Fresh (45 days) and 14 days on (31 left): 'still valid', the file untouched; 16
    days on (29 left): 'renewed until' 45 days past that day; again the same day: still
    valid. With a wrong passphrase the untouched runs still pass (no key read) and a
    needed renewal fails (exit 1, naming the passphrase): the unit fails loudly."""
    home = tmp_path / "home"
    _make(tmp_path, home)
    creds = tmp_path / "creds"
    crl = ca_dir(home) / "crl.pem"
    before = crl.read_bytes()
    assert 44.9 < days_ahead(next_update(home)) <= 45
    for shift in (None, "+14d"):
        done = run_unit(home, creds, shift=shift)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("pki: CRL still valid until "), done.stdout
        assert crl.read_bytes() == before
    done = run_unit(home, creds, shift="+16d")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pki: CRL renewed until ") and "(29 days left" in done.stdout
    assert 60.9 < days_ahead(next_update(home)) <= 61
    again = run_unit(home, creds, shift="+16d")
    assert again.stdout.startswith("pki: CRL still valid until "), again.stdout
    (creds / "ca-passphrase").chmod(0o600)
    (creds / "ca-passphrase").write_text("not the passphrase\n")
    assert run_unit(home, creds, shift="+16d").returncode == 0
    failed = run_unit(home, creds, shift="+40d")
    assert failed.returncode == 1 and "wrong passphrase" in failed.stderr, failed


def _make(tmp: Path, home: Path) -> None:
    """The *home* fixture's work, callable directly."""
    from crlunit import credential

    home.mkdir()
    secret = tmp / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    credential(tmp / "creds", secret)
    edge(home, "pki", "init-ca", "--name", "semarang site CA")
    assert b"ENCRYPTED" in (ca_dir(home) / "ca.key").read_bytes()


@pytest.fixture
def expired(tmp_path: Path) -> Iterator[tuple[Path, RoleBroker]]:
    """A CA whose CRL (node-b revoked) expired 5 days ago (issued 50 days back, 45 days),
    and the role's broker for node-a and node-b started with it."""
    home = tmp_path / "home"
    _make(tmp_path, home)
    ca = ca_dir(home)
    issued = tmp_path / "issued"
    for cn, role in (("node-a", ()), ("node-b", ()), ("localhost", ("--role", "broker"))):
        key, csr = issued / cn / "key.pem", issued / cn / "req.csr"
        edge(home, "pki", "csr", "--key", key, "--csr", csr, "--cn", cn)
        server = ("--server", "localhost") if role else ()
        edge(home, "pki", "sign", "--csr", csr, "--out", issued / cn / "cert.pem", *role, *server)
    edge(home, "pki", "revoke", "--cert", issued / "node-b" / "cert.pem")
    edge(home, "pki", "crl", "--days", "45", shift="-50d")
    assert -5.1 < days_ahead(next_update(home)) < -4.9
    broker = RoleBroker(
        tmp_path / "broker",
        ca / "ca.crt",
        issued / "localhost" / "cert.pem",
        issued / "localhost" / "key.pem",
        ca / "crl.pem",
        ["node-a", "node-b"],
    )
    broker.dir.mkdir()
    broker.render()
    broker.start()
    try:
        yield home, broker
    finally:
        broker.stop()


@pytest.mark.slow
def test_expired_crl_refuses_everyone_until_the_timer_unit_renews_it(
    tmp_path: Path, expired: tuple[Path, RoleBroker]
) -> None:
    """With the expired CRL the broker refuses node-a (valid, never revoked); the unit's
    command renews it (saying it had expired), the broker restarts with it (as the role's
    handler does after broker.yml copies it) and accepts node-a; node-b stays refused."""
    home, broker = expired
    issued = tmp_path / "issued"
    a = (issued / "node-a" / "cert.pem", issued / "node-a" / "key.pem")
    b = (issued / "node-b" / "cert.pem", issued / "node-b" / "key.pem")
    assert not broker.accepts("node-a", *a)
    assert "certificate verify failed" in broker.log(), broker.log()[-2000:]
    done = run_unit(home, tmp_path / "creds")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pki: CRL renewed until ") and "expired on" in done.stdout
    assert 44.9 < days_ahead(next_update(home)) <= 45
    broker.restart()
    assert broker.accepts("node-a", *a), broker.log()[-2000:]
    assert not broker.accepts("node-b", *b)
