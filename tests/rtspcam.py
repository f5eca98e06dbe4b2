"""A camera on an RTSP stream for the tests that run a real camera worker against a real RTSP
server: its config, and a recorder of what the worker emits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from edge.config.cameras import CameraConfig
from edge.config.loader import loads
from edge.events.model import Event


def rtsp_camera(url: str, *, reconnect_max_s: float, fault_after_s: float = 2.0) -> CameraConfig:
    """Camera "gate" of node "n" at site "s": 5 fps detection on the RTSP stream *url*
    (2 s open and read timeouts), faulted after *fault_after_s* without frames and
    reconnecting at most *reconnect_max_s* apart."""
    return loads(f"""
[node]
id = "n"
site = "s"
[[cameras]]
name = "gate"
fps = 5
fault_after_s = {fault_after_s}
reconnect_max_s = {reconnect_max_s}
detect = {{ kind = "rtsp", url = "{url}", open_timeout_s = 2, read_timeout_s = 2 }}
""").cameras[0]


class Events:
    """What the worker emits, with the monotonic time it came."""

    def __init__(self) -> None:
        self.items: list[tuple[float, Event]] = []
        self.lock = threading.Lock()

    def __call__(self, e: Event) -> None:
        with self.lock:
            self.items.append((time.monotonic(), e))

    def all(self, kind: str, state: str | None = None) -> list[Event]:
        """Events of *kind* (and *state*) so far."""
        with self.lock:
            return [e for _, e in self.items if e.kind == kind and state in (None, e.state)]

    def wait(
        self, ok: Callable[[Event], bool], timeout: float, what: str, since: float = 0.0
    ) -> tuple[float, Event]:
        """The first event *ok* accepts that came after monotonic *since*, and when it came;
        fails after *timeout*."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for t, e in self.items:
                    if t >= since and ok(e):
                        return t, e
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout} s: {[e.kind for _, e in self.items]}")

    def first(self, kind: str, timeout: float) -> tuple[float, Event]:
        """The first event of *kind*, and when it came; fails after *timeout*."""
        return self.wait(lambda e: e.kind == kind, timeout, f"{kind} event")
