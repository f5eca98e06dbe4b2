"""Alerts long before anything expires: ``cert_expiring`` and ``crl_expiring`` when a
certificate's notAfter or a CRL's nextUpdate is less than ``expiry.warn_days`` away.

* **Nodes**, from their last heartbeat (``nodes.last_health``): each link's ``cert_days``
  (ref: the destination), ``ca_days`` (ref ``DEST:ca``) and ``crl_days`` (ref: the
  destination). The days a heartbeat reports are counted on from its ``time``, so a node
  that fell silent is still alerted as its dates come near.
* **This receiver's own files**: its client certificate (``broker.tls.cert``), every CA
  certificate in ``broker.tls.ca`` (the site CAs), the dashboard's ``http.tls_cert``, and
  the CRLs in ``expiry.crl_files`` with ``broker.tls.crl`` (or ``site-crl.pem`` beside the
  CA file). These alerts have no site or node; the ref names the file (and the subject). A
  file that cannot be read is alerted as such.

Each check raises what is near and clears every open alert of the two kinds that no longer
is (renewed, gone from the config). It runs every ``expiry.check_interval_s`` from the
supervision loop (:class:`ExpiryCheck`); :func:`expiry_ops` takes the time as an argument.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator

from edge.core.logs import get_logger
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.config import ReceiverConfig
from edge.receiver.store import lookups
from edge.receiver.store.store import ReceiverStore
from edge.wire.certdays import DAY, CertFileError, certificates, crl_next_update, crl_path

log = get_logger(__name__)

KINDS = (AlertKind.CERT_EXPIRING, AlertKind.CRL_EXPIRING)
MAX_DAYS = 100 * 365
"""Reported days are taken as at most this far either way."""
Key = tuple[AlertKind, str, str, str]
"""(kind, site, node, ref) of an alert."""


def _date(until: float) -> str:
    try:
        return dt.datetime.fromtimestamp(until, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, ValueError, OSError):  # a heartbeat's odd time: no date for it
        return f"at Unix time {until:.0f}"


def _near(what: str, until: float, now: float) -> str:
    days = (until - now) / DAY
    if days < 0:
        return f"{what} expired {_date(until)} ({-days:.1f} days ago)"
    return f"{what} expires {_date(until)} (in {days:.1f} days)"


def own_files(cfg: ReceiverConfig, now: float) -> Iterator[tuple[Key, str, float | None]]:
    """(alert key, detail, Unix time it expires or None when unreadable) of each of this
    receiver's own certificates and CRLs."""
    tls = cfg.broker.tls
    certs: list[tuple[str, str]] = []
    crls = list(cfg.expiry.crl_files)
    if tls is not None:
        certs.append(("the receiver's client certificate", tls.cert or ""))
        certs.append(("site CA", tls.ca))
        beside = crl_path(tls)
        if beside is not None and str(beside) not in crls:
            crls.append(str(beside))
    if cfg.http.tls_cert:
        certs.append(("the dashboard's certificate", cfg.http.tls_cert))
    for what, path in certs:
        if not path:
            continue
        key: Key = (AlertKind.CERT_EXPIRING, "", "", path)
        try:
            found = certificates(path)
        except CertFileError as bad:
            yield key, f"{what}: {bad}", None
            continue
        for c in found if what == "site CA" else found[:1]:
            ref = f"{path} {c.subject}" if what == "site CA" else path
            yield (key[0], "", "", ref[:500]), _near(f"{what} {c.subject}", c.until, now), c.until
    for path in crls:
        key = (AlertKind.CRL_EXPIRING, "", "", path)
        try:
            crl = crl_next_update(path)
        except CertFileError as bad:
            yield key, f"CRL: {bad}", None
            continue
        what = f"CRL {path} of {crl.subject} (past its nextUpdate the broker refuses every client)"
        yield key, _near(what, crl.until, now), crl.until


_LINK_FIELDS = (("cert_days", AlertKind.CERT_EXPIRING, "", "client certificate"),
                ("ca_days", AlertKind.CERT_EXPIRING, ":ca", "site CA certificate"),
                ("crl_days", AlertKind.CRL_EXPIRING, "", "CRL"))  # fmt: skip


def node_files(site: str, node: str, health: object) -> Iterator[tuple[Key, str, float]]:
    """(alert key, what, Unix time it expires) of each TLS file a node's heartbeat reports
    on (validated at ingest; anything else is skipped)."""
    if not isinstance(health, dict) or not isinstance(health.get("links"), dict):
        return
    sent = health.get("time")
    if not isinstance(sent, int | float) or isinstance(sent, bool):
        return
    for dest, link in health["links"].items():
        if not isinstance(link, dict):
            continue
        for field, kind, suffix, what in _LINK_FIELDS:
            days = link.get(field)
            if isinstance(days, int | float) and not isinstance(days, bool):
                key: Key = (kind, site, node, f"{dest}{suffix}"[:200])
                days = max(-MAX_DAYS, min(MAX_DAYS, days))  # a hostile value stays a date
                yield key, f"{what} of destination {dest}", float(sent) + days * DAY


def expiry_ops(cfg: ReceiverConfig, store: ReceiverStore, now: float) -> list[AlertOp]:
    """The raises and clears that bring the open alerts of :data:`KINDS` in line with
    what is near expiry at Unix time *now*."""
    warn = cfg.expiry.warn_days * DAY
    near: dict[Key, str] = {}
    for key, detail, until in own_files(cfg, now):
        if until is None or until - now < warn:
            near[key] = detail
    for site, node, raw in lookups.node_health(store.db):
        try:
            health = json.loads(raw)
        except (TypeError, ValueError):
            continue
        for key, what, until in node_files(str(site), str(node), health):
            if until - now < warn:
                near[key] = _near(what, until, now)
    open_now = _open(store)
    ops = [AlertOp(True, k[0], k[1], k[2], k[3], d[:1000]) for k, d in near.items()
           if k not in open_now]  # fmt: skip
    ops += [AlertOp(False, *k) for k in open_now if k not in near]
    return ops


def _open(store: ReceiverStore) -> set[Key]:
    rows = lookups.open_alerts_of(store.db, [str(k) for k in KINDS])
    return {(AlertKind(k), s, n, r) for k, s, n, r in rows}


class ExpiryCheck:
    """The supervision loop's expiry check, every ``expiry.check_interval_s``."""

    def __init__(
        self,
        cfg: ReceiverConfig,
        store: ReceiverStore,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg, self.store = cfg, store
        self._clock, self._monotonic = clock, monotonic
        self._next: float | None = None

    def run(self) -> None:
        """Check when due (the first round at once)."""
        mono = self._monotonic()
        if self._next is not None and mono < self._next:
            return
        self._next = mono + self.cfg.expiry.check_interval_s
        self.check()

    def check(self) -> list[AlertOp]:
        """Check now; the operations applied (each raise logged)."""
        ops = expiry_ops(self.cfg, self.store, self._clock())
        if ops:
            self.store.alerts(ops)
        for op in ops:
            if op.raise_:
                log.warning("expiry.near", kind=str(op.kind), site=op.site, node=op.node,
                            ref=op.ref, detail=op.detail)  # fmt: skip
            else:
                log.info("expiry.cleared", kind=str(op.kind), site=op.site, node=op.node,
                         ref=op.ref)  # fmt: skip
        return ops
