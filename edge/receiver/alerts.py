"""The receiver's own alerts and the rules that raise and clear them from what nodes send.
Pure: the store applies the operations inside the same transaction as the message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class AlertKind(StrEnum):
    """What the receiver alerts the police about (beside the nodes' own events)."""

    FORGED_MESSAGE = "forged_message"
    NODE_OFFLINE = "node_offline"
    NODE_DEGRADED = "node_degraded"
    CLIP_INCOMPLETE = "clip_incomplete"
    CLIP_CORRUPT = "clip_corrupt"
    STORE_CORRUPT = "store_corrupt"
    """The receiver's SQLite file failed its daily ``PRAGMA quick_check``."""
    CLIP_CONFLICT = "clip_conflict"
    """A second signed manifest for a clip that already has one, with other content."""
    CERT_EXPIRING = "cert_expiring"
    """A certificate expires within ``expiry.warn_days`` (ref: the node's destination, or the
    receiver's own file and subject): a node's client certificate or CA file from its
    heartbeat, the receiver's own client certificate, CA and dashboard certificate."""
    CRL_EXPIRING = "crl_expiring"
    """A CRL is past its nextUpdate within ``expiry.warn_days`` (then the broker refuses
    every client): a node's copy from its heartbeat, or a file in ``expiry.crl_files``."""


@dataclass(frozen=True, slots=True)
class AlertOp:
    """Raise (at most one open alert per kind, node and ref) or clear an alert."""

    raise_: bool
    kind: AlertKind
    site: str
    node: str
    ref: str = ""
    detail: str = ""
    window_s: float | None = None
    """Windowed raise: the open alert counts it (``times``, ``last_raised``) while its first
    raise is younger than this; after that it is closed and a new one opened. None: a raise
    while one is open changes nothing."""
    times: int = 1
    """How many occurrences a windowed raise stands for."""


DEGRADED = ("camera_fault", "camera_blocked", "disk_full", "store_error", "reserve_missing",
            "outbox_recovered", "signing_key_unusable", "destination_waiting",
            "audit_chain_break", "audit_log_set_aside", "audit_key_change", "duplicate_node_id",
            "delivery_error", "certificate_refused")  # fmt: skip
"""Heartbeat reasons (prefixes) the police are alerted about: what stops a camera or a
destination, what puts alarms or evidence at risk (full disk, no reserve, a rebuilt outbox, no
usable signing key) and what an auditor must hear of (a cut, set-aside or re-keyed audit
chain), and a broker refusing the node's client certificate (revoked or not trusted).
Passing ones (a flapping sensor, lights off) stay on the fleet board only."""


def degraded_reasons(health: Mapping[str, object], queue_limit: int) -> list[str]:
    """Why a heartbeat shows a degraded node (:data:`DEGRADED`), and a long queue."""
    raw = health.get("reasons", [])
    reasons = [str(r)[:200] for r in (raw if isinstance(raw, list) else [])
               if isinstance(r, str) and r.startswith(DEGRADED)]  # fmt: skip
    waiting = 0
    queue = health.get("queue")
    if isinstance(queue, dict):
        for classes in queue.values():
            if isinstance(classes, dict):
                waiting += sum(v for v in classes.values() if isinstance(v, int))
    if waiting > queue_limit:
        reasons.append(f"queue:{waiting}")
    return reasons


def on_health(
    site: str, node: str, health: Mapping[str, object], queue_limit: int
) -> list[AlertOp]:
    """A heartbeat: the node is back (clears node_offline) and degraded or not."""
    ops = [AlertOp(False, AlertKind.NODE_OFFLINE, site, node)]
    reasons = degraded_reasons(health, queue_limit)
    if reasons:
        ops.append(AlertOp(True, AlertKind.NODE_DEGRADED, site, node, "", ", ".join(reasons)))
    else:
        ops.append(AlertOp(False, AlertKind.NODE_DEGRADED, site, node))
    return ops
