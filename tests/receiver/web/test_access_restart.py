"""A real ``edge receive --http`` stopped mid-viewing: killed (a power cut) while an officer
plays a clip, the viewing stays in the store, committed before the bytes went out, and the
next start chains it (``ended_by`` ``start``); stopped cleanly (SIGTERM) mid-viewing, it
chains the viewing on its way out (``ended_by`` ``stop``). The chain verifies."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from casefile import CLIP, make_case
from dash import PASSWORD, add_user
from procs import Daemon, free_port, receiver_toml, wait_http

from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.ackaudit.verify import verify_chain
from edge.receiver.store.store import ReceiverStore

pytestmark = pytest.mark.slow


def _wait(condition: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def _play(url: str, path: str) -> None:
    """Log budi in and fetch the first KiB of the clip (206)."""
    with httpx.Client(base_url=url, timeout=10) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, page.text[:300]
        c.post("/login", data={"username": "budi", "password": PASSWORD, "csrf": token[1]})
        got = c.get(path, headers={"range": "bytes=0-1023"})
        assert got.status_code == 206 and got.content == CLIP[:1024]


def test_a_viewing_survives_a_killed_receiver_and_is_chained_at_its_next_start(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA
) -> None:
    """Kill mid-viewing: pending, not chained; restart: chained by the start; play again
    and SIGTERM: chained by the stop."""
    data = tmp_path / "rx"
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(data, broker, ca, "polda-test", "access-restart"))
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    try:
        case = make_case(store, tmp_path)
        add_user(store, "budi", "officer")
        clip = case.fleet.media("clip", hashlib.sha256(CLIP).hexdigest())

        def plays(why: str) -> list[dict[str, Any]]:
            rows = store.db.query("SELECT record FROM ack_chain WHERE action = 'play_clip'")
            return [r for r in (json.loads(x[0]) for x in rows) if r["ended_by"] == why]

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        rx = Daemon(["receive", "-c", str(conf), "--http", f"127.0.0.1:{port}"],
                    tmp_path / "receiver.log")  # fmt: skip
        try:
            rx.start()
            wait_http(f"{url}/login", rx)
            _play(url, clip)
            assert store.db.query("SELECT COUNT(*) FROM access_viewings")[0][0] == 1
            rx.kill()
            assert not plays("start") and not plays("stop")
            rx.start()
            (started,) = _wait(lambda: plays("start"), "the pending viewing chained at start")
            assert started["user"] == "budi" and started["ranges"] == [[0, 1024]]
            wait_http(f"{url}/login", rx)
            _play(url, clip)
            rx.stop()
            assert rx.proc is not None and rx.proc.returncode == 0, rx.tail()
            (stopped,) = plays("stop")
            assert stopped["ranges"] == [[0, 1024]] and stopped["seq"] > started["seq"]
            assert store.db.query("SELECT COUNT(*) FROM access_viewings")[0][0] == 0
            assert verify_chain(store.db, data).ok
        finally:
            rx.stop()
    finally:
        store.close()
