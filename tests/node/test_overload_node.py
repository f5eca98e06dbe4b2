"""The real node overloaded: a camera replaying a file in real time at 10 fps whose analysis
can take only a few frames a second (a slow step in the analysis thread, not a busy CPU),
so its queue drops frames. The heartbeat says ``degraded`` with the overload reason, the
camera's recent drops and analysed fps, ``STATUS=`` and ``edge status`` say so; once the
analysis keeps up again it clears. Judged on conditions with deadlines, never on timings."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from nodecfg import file_camera, node_config
from timing import wait_until

from edge.capture.frame import Frame
from edge.cli.main import main
from edge.config.loader import loads
from edge.node import heartbeat
from edge.node.node import Node
from edge.node.statusline import StatusBoard
from edge.wire.overload import parse


def _overloaded(health: dict[str, object]) -> bool:
    reasons = health["reasons"]
    assert isinstance(reasons, list)
    return health["status"] == "degraded" and any(
        (o := parse(r)) is not None and o.kind == "drops" for r in reasons
    )


def test_an_overloaded_node_reports_degraded_and_clears(
    tmp_path: Path, videos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Analysis at 10 fps with a step of 0.3 s per frame: over a 2 s window the heartbeat
    is ``degraded`` with ``overloaded: N% of frames dropped on 1 camera``, the camera shows
    its recent drops and fewer analysed fps than configured, the status line and ``edge
    status`` (the state file the node writes) name the reason. The step made quick, it
    clears back to ``healthy``."""
    slow, done = threading.Event(), threading.Event()
    slow.set()
    camera = file_camera("hall", videos / "car-detection.mp4", realtime=True, fps=10)
    camera = camera.replace("realtime = true }", "realtime = true, loop = true }")
    extra = "[health.overload]\nwindow_s = 2.0\nmin_frames = 5\nsettle_s = 1.0\n"
    toml = tmp_path / "node.toml"
    toml.write_text(node_config(tmp_path, "n1", mock_gpio=True, cameras=[camera], extra=extra))
    node = Node(loads(toml.read_text()))
    worker = node.cameras[0]

    def on_frame(_f: Frame) -> None:
        if slow.is_set():
            done.wait(0.3)  # the analysis can take ~3 of the 10 frames a second

    worker.on_frame = on_frame
    node.start()
    try:
        assert wait_until(lambda: _overloaded(heartbeat.report(node)), 30)
        health = heartbeat.report(node)
        cam = health["cameras"]["hall"]
        assert cam["dropped_recent"] > 0 and cam["dropped_share"] > 0.01
        assert cam["fps_configured"] == 10 and 0 < cam["fps"] < 10
        line = StatusBoard().line(node, node.state(), node.vitals.check())
        assert "overloaded: " in line and "% of frames dropped on 1 camera" in line

        def edge_status() -> tuple[int, str]:
            capsys.readouterr()
            code = main(["status", "--config", str(toml)])
            return code, capsys.readouterr().out

        def says_overloaded() -> bool:
            code, out = edge_status()
            return code == 1 and "degraded (overloaded: " in out  # 1: degraded

        assert wait_until(says_overloaded, 10)
        assert re.search(r"last \d s: dropped \d+ \(\d", edge_status()[1])
        slow.clear()
        assert wait_until(lambda: heartbeat.report(node)["status"] == "healthy", 30)
        assert not any(parse(r) for r in node.state().reasons)
        assert wait_until(lambda: edge_status()[0] == 0, 10)  # healthy
    finally:
        done.set()
        node.stop()
