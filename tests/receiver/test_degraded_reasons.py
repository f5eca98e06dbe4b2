"""Which heartbeat reasons raise ``node_degraded`` at the police (issue 23's new reasons: a
set-aside or cut audit chain, a re-keyed node, a destination waiting for its files, no usable
signing key, a rebuilt outbox, no reserve), and that the list cannot drift from what the node
actually sends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge.receiver.alerts import DEGRADED, AlertKind, degraded_reasons, on_health

EDGE = Path(__file__).resolve().parents[2] / "edge"


@pytest.mark.parametrize(
    "reason",
    ["audit_log_set_aside:audit.log.damaged-20261207T010203Z", "audit_chain_break:empty",
     "audit_key_change:0123456789abcdef", "destination_waiting:backup",
     "signing_key_unusable:/var/lib/warehouse-edge/keys/node.key", "outbox_recovered",
     "reserve_missing", "camera_fault:dock", "camera_blocked:office", "disk_full",
     "certificate_refused:police:revoked"],
)  # fmt: skip
def test_a_reason_that_puts_alarms_or_evidence_at_risk_raises_node_degraded(reason: str) -> None:
    """The heartbeat's reason is named in the raised alert's detail."""
    ops = on_health("semarang", "gudang-01", {"reasons": [reason]}, 1000)
    raised = [op for op in ops if op.raise_ and op.kind is AlertKind.NODE_DEGRADED]
    assert len(raised) == 1 and reason in raised[0].detail


def test_passing_reasons_and_odd_values_raise_nothing() -> None:
    """A flapping sensor or lights off stay on the board; reasons that are no list of text
    (an old or hostile heartbeat) are ignored, never an exception."""
    for health in ({"reasons": ["sensor_flapping:door", "lights_off:dock"]},
                   {"reasons": "disk_full"}, {"reasons": [1, None, {"a": 1}]}, {}):  # fmt: skip
        assert degraded_reasons(health, 1000) == []


def test_every_alerted_prefix_is_one_the_node_sends() -> None:
    """Each prefix in DEGRADED appears as a reason string in the node's code (edge/node,
    edge/outbox, edge/link, edge/evidence): renaming a reason there without here fails."""
    source = "\n".join(p.read_text() for d in ("node", "outbox", "link", "wire", "evidence", "core")
                       for p in (EDGE / d).rglob("*.py"))  # fmt: skip
    missing = [p for p in DEGRADED if not re.search(rf"[\"'{{]{p}[:\"'}}]|{p}\b", source)]
    assert not missing, f"not sent by the node: {missing}"
