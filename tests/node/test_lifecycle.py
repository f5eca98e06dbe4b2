"""One lifecycle: services start in a fixed order and stop in the reverse order, a stuck
service is named, a worker whose thread died says so."""

from __future__ import annotations

import threading
from pathlib import Path

from nodecfg import file_camera, node_config, sensor

from edge.config.loader import loads
from edge.core.lifecycle import Hooks, ServiceHealth, Worker
from edge.node.lifecycle import Lifecycle
from edge.node.node import Node


class _Recorder:
    """A service that records what was done to it."""

    def __init__(self, name: str, log: list[str], *, stuck: bool = False) -> None:
        self.name = name
        self.log = log
        self.stuck = stuck

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")

    def join(self, timeout: float | None = None) -> bool:
        return not self.stuck

    def health(self) -> ServiceHealth:
        return ServiceHealth(self.name, True)


def test_services_stop_in_reverse_start_order() -> None:
    """Start a, b, c; stop c, b, a; a service that does not end in time is named."""
    log: list[str] = []
    life = Lifecycle([_Recorder("a", log), _Recorder("b", log, stuck=True), _Recorder("c", log)])
    life.start()
    stuck = life.stop(timeout_each=0.01)
    assert log == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]
    assert stuck == ["b"]
    assert life.journal == log


def test_a_worker_whose_thread_died_is_unhealthy() -> None:
    """A worker thread that ends on its own (a bug) shows in health(); one stopped does not."""

    class Quitter(Worker):
        def start(self) -> None:
            self.spawn(lambda: None, "quitter")

    w = Quitter("quitter")
    w.start()
    assert w.join(5.0)
    h = w.health()
    assert not h.alive and "quitter" in h.detail
    w.stop()
    assert w.health().alive


def test_a_worker_stops_its_threads() -> None:
    """shutdown() sets the stop flag, calls the hook and joins within the timeout."""
    unblocked = threading.Event()

    class Waiter(Worker):
        def start(self) -> None:
            self.spawn(unblocked.wait, "waiter")

        def _stopping(self) -> None:
            unblocked.set()

    w = Waiter("waiter")
    w.start()
    assert w.health().alive
    assert w.shutdown(5.0)


def test_hooks_run_their_calls() -> None:
    """A Hooks service runs its start and stop calls and has nothing to join."""
    calls: list[str] = []
    h = Hooks("pins", start=lambda: calls.append("on"), stop=lambda: calls.append("off"))
    h.start()
    h.stop()
    assert calls == ["on", "off"] and h.join(0) and h.health().alive


def test_node_starts_links_first_and_stops_cameras_first(tmp_path: Path, videos: Path) -> None:
    """The real node: links start first and stop last; cameras start last (after sensors,
    so no event waits) and stop first; the housekeeper and then the state watch (which only
    reads the others) are the outermost services."""
    video = videos / "one-by-one-person-detection.mp4"
    cfg = loads(
        node_config(
            tmp_path,
            "n1",
            "semarang",
            mock_gpio=True,
            cameras=[file_camera("hall", video, fps=5)],
            sensors=[sensor("door", "door", pin=17, cameras=["hall"])],
            destinations=[
                '[[destinations]]\nname = "police"\nhost = "127.0.0.1"\nport = 1\n'
                "allow_insecure = true"
            ],
        )
    )
    node = Node(cfg)
    node.start()
    node.stop()
    started = [j.split(" ", 1)[1] for j in node.lifecycle.journal if j.startswith("start")]
    stopped = [j.split(" ", 1)[1] for j in node.lifecycle.journal if j.startswith("stop")]
    assert started[0] == "mqtt-police" and started[-2:] == ["housekeeping", "state-watch"]
    assert started.index("gpio") < started.index("camera-hall")
    assert started.index("clip-finalizer") < started.index("recorder-hall")
    assert stopped == list(reversed(started))
