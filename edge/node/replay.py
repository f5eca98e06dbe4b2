"""Helpers for a node replaying files (the demo, tests, benchmarks): wait for the cameras to
reach the end, finish the clips, wait for the outbox to empty."""

from __future__ import annotations

import time

from edge.node.node import Node


def wait_cameras(node: Node, timeout: float | None = None) -> bool:
    """Wait until every camera's input has ended (replay); True if all did."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for cam in node.cameras:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not cam.join(left):
            return False
    return True


def flush_clips(node: Node, timeout: float = 30.0) -> bool:
    """Finish the clips being cut and wait until all are written (end of a replay)."""
    for rec in node.recorders.values():
        rec.close()
    return node.finalizer.drain(timeout)


def drain(node: Node, timeout: float) -> bool:
    """Wait until the outbox is empty (everything acknowledged) or *timeout*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.outbox.total() == 0:
            return True
        time.sleep(0.05)
    return node.outbox.total() == 0
