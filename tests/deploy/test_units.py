"""Small building blocks: ids, backoff, queues, sd_notify, structured logs."""

from __future__ import annotations

import io
import json
import random
import socket
import threading
import uuid
from pathlib import Path

import pytest
import structlog

from edge.core import logs
from edge.core.backoff import Backoff
from edge.core.ids import Uuid7Generator
from edge.core.queues import Closed, FrameQueue
from edge.node.notify import Notifier


def test_uuid7_is_version_7_and_time_ordered() -> None:
    """Ids are RFC 9562 version 7, carry their millisecond and strictly increase, even when
    thousands share one millisecond or the clock steps back."""
    now = [1_700_000_000_000_000_000]
    gen = Uuid7Generator(lambda: now[0])
    ids = [gen() for _ in range(5000)]  # more than the 12-bit counter holds
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids[0].int >> 80 == 1_700_000_000_000
    now[0] = 1_700_000_001_000_000_000
    later = gen()
    assert later > ids[-1] and later.int >> 80 == 1_700_000_001_000
    now[0] -= 10**9  # clock stepped back one second
    assert gen() > later


def test_backoff_doubles_with_jitter_and_caps() -> None:
    """Delays double up to the cap, each jittered into [d/2, d]; reset starts over."""
    b = Backoff(1.0, 8.0, rng=random.Random(1))
    delays = [b.next() for _ in range(6)]
    for d, nominal in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert nominal / 2 <= d <= nominal
    assert len({round(d, 6) for d in delays}) == 6  # jittered, not constant
    b.reset()
    assert b.next() <= 1.0
    with pytest.raises(ValueError, match="initial"):
        Backoff(0, 1)


def test_queue_drops_oldest_when_live() -> None:
    """A live queue never grows past its size: the oldest frames go, counted."""
    q: FrameQueue[int] = FrameQueue(3, drop_oldest=True)
    for i in range(10):
        q.put(i)
    assert len(q) == 3 and q.dropped == 7
    assert [q.get(0), q.get(0), q.get(0)] == [7, 8, 9]
    q.close()
    with pytest.raises(Closed):
        q.get(0)


def test_queue_blocks_for_replay() -> None:
    """A replay queue makes the producer wait instead of dropping."""
    q: FrameQueue[int] = FrameQueue(2, drop_oldest=False)
    q.put(1)
    q.put(2)
    t = threading.Thread(target=q.put, args=(3,))
    t.start()
    t.join(0.2)
    assert t.is_alive()  # waiting for room
    assert q.get(1) == 1
    t.join(2)
    assert not t.is_alive() and q.dropped == 0
    assert [q.get(0), q.get(0)] == [2, 3]


def test_notifier_speaks_the_sd_notify_protocol(tmp_path: Path) -> None:
    """READY=1 and WATCHDOG=1 reach the datagram socket named by NOTIFY_SOCKET."""
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(2)
    n = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "20000000"})
    assert n.ping_interval == 10.0
    assert n.notify(READY=1, STATUS="running")
    assert server.recv(100) == b"READY=1\nSTATUS=running"
    assert n.notify(WATCHDOG=1)
    assert server.recv(100) == b"WATCHDOG=1"
    server.close()
    assert not Notifier({}).notify(READY=1)


def test_json_logs_carry_event_name_and_fields() -> None:
    """Log lines are structured: event name plus typed fields, one JSON object a line."""
    out = io.StringIO()
    try:
        assert logs.configure("info", "json", stream=out) == "json"
        log = logs.get_logger("t")
        log.info("clip.saved", camera="hall", seconds=12.5)
        log.debug("hidden.event")
    finally:
        structlog.reset_defaults()
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(lines) == 1
    assert lines[0]["event"] == "clip.saved"
    assert lines[0]["camera"] == "hall" and lines[0]["seconds"] == 12.5
    assert lines[0]["level"] == "info" and lines[0]["timestamp"].endswith("Z")


def test_journal_renderer_sends_fields_to_journald() -> None:
    """Under systemd, each event goes to journald with MESSAGE, PRIORITY and its fields
    upper-cased (systemd-python's journal.send; journald itself does not run here)."""
    sent: list[dict[str, str]] = []
    renderer = logs.JournalRenderer()
    renderer._send = lambda **kw: sent.append(kw)  # the real send needs a running journald
    with pytest.raises(structlog.DropEvent):
        renderer(
            None,
            "warning",
            {
                "event": "clip.saved",
                "level": "warning",
                "timestamp": "t",
                "camera": "hall",
                "seconds": 12.5,
            },
        )
    assert sent == [
        {
            "MESSAGE": "clip.saved",
            "PRIORITY": "4",
            "SYSLOG_IDENTIFIER": "warehouse-edge",
            "CAMERA": "hall",
            "SECONDS": "12.5",
        }
    ]
