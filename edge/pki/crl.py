"""Keeping the CRL current: the state of ``crl.pem`` (read with the CA certificate only, no
key) and a renewal that re-issues it only when needed: when fewer than N days are left
before its next update, or it is missing, expired, unreadable, not signed by this CA or no
longer lists what the index revoked. Run daily (systemd/warehouse-pki-crl@.timer)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from edge.pki.ca import CRL, PkiError, SiteCA, load_ca_cert, now
from edge.pki.revoke import issue_crl, revoked_serials


@dataclass(frozen=True)
class CrlState:
    """``crl.pem`` as found: its next update (None when unknown) and, when it cannot be
    kept, why."""

    next_update: dt.datetime | None
    problem: str | None


def crl_state(ca_dir: Path, at: dt.datetime | None = None) -> CrlState:
    """What ``crl.pem`` in *ca_dir* is worth at *at* (now): checked against the CA
    certificate and the index, never the key."""
    ca_cert = load_ca_cert(ca_dir)
    at = at or now()
    path = ca_dir / CRL
    try:
        crl = x509.load_pem_x509_crl(path.read_bytes())
    except FileNotFoundError:
        return CrlState(None, "missing")
    except (OSError, ValueError) as e:
        return CrlState(None, f"unreadable ({e})")
    public = ca_cert.public_key()
    nxt = crl.next_update_utc
    problem: str | None = None
    if not isinstance(public, ec.EllipticCurvePublicKey) or not crl.is_signature_valid(public):
        problem, nxt = "not signed by this CA", None
    elif nxt is None:
        problem = "it has no next update"
    elif nxt <= at:
        problem = f"expired on {nxt.isoformat()}"
    elif {r.serial_number for r in crl} != set(revoked_serials(ca_dir)):
        problem = "it does not list what the index revoked"
    return CrlState(nxt, problem)


def _days(span: dt.timedelta | None) -> str:
    return f"{(span or dt.timedelta()).total_seconds() / 86400:.0f}"


@dataclass(frozen=True)
class Renewal:
    """What a renewal did: re-issued or not, the next update now, and why it re-issued."""

    renewed: bool
    next_update: dt.datetime
    reason: str


def renew_crl(
    ca_dir: Path,
    *,
    within_days: int,
    days: int,
    passphrase: Callable[[], bytes | None],
) -> Renewal:
    """Re-issue ``crl.pem`` (next update in *days*) when fewer than *within_days* are left
    or it cannot be kept; otherwise leave it (no key read). *passphrase* is called only
    when the CA key is needed."""
    if within_days < 1 or within_days >= days:
        raise PkiError(
            f"--renew-within {within_days}: must be at least 1 and less than the CRL's "
            f"validity (--days {days}), or every run would re-issue it"
        )
    start = now()
    state = crl_state(ca_dir, start)
    left = state.next_update - start if state.next_update else None
    if state.problem is None and left is not None and left > dt.timedelta(days=within_days):
        assert state.next_update is not None
        return Renewal(False, state.next_update, f"{_days(left)} days left")
    reason = state.problem or f"{_days(left)} days left, fewer than {within_days}"
    crl = issue_crl(SiteCA.load(ca_dir, passphrase()), days)
    assert crl.next_update_utc is not None
    return Renewal(True, crl.next_update_utc, reason)
