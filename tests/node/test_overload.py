"""Honest about overload, judged: the share of analysis frames dropped over the window,
the lag bound, the hysteresis that keeps a node near a bound from flapping, and the reasons'
text read back. Counters stand in for cameras and the clock is made up, so nothing sleeps
through a window. The real node: test_overload_node.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from nodecfg import video_camera
from timing import FakeClock

from edge.cli.status import render
from edge.config.cameras import CameraConfig
from edge.config.loader import ConfigError, loads
from edge.config.overload import OverloadConfig
from edge.node.overload import RENEW_S, ROWS, CameraLoad, OverloadWatch
from edge.node.statusline import Summary, status_line
from edge.sensors.outputs import Status
from edge.wire.overload import drops_reason, lag_reason, parse, percent


class Counters:
    """A camera's two analysis counters and its lag, moved by the test."""

    def __init__(self, cfg: CameraConfig) -> None:
        self.cfg = cfg
        self.frames_analysed = 0
        self.lag_s: float | None = None
        self._dropped = 0

    @property
    def dropped(self) -> int:
        """Analysis frames dropped since start."""
        return self._dropped

    def run(self, analysed: int, dropped: int = 0) -> None:
        """*analysed* frames analysed and *dropped* dropped since the last look."""
        self.frames_analysed += analysed
        self._dropped += dropped


def _cameras(videos: Path, n: int) -> list[Counters]:
    return [Counters(video_camera(videos / "car-detection.mp4", name=f"c{i}")) for i in range(n)]


def _run(
    watch: OverloadWatch, clock: FakeClock, cams: list[Counters], seconds: int, per_mille: int
) -> None:
    """*seconds* of 1000 frames a second handed to each camera, *per_mille* of them dropped."""
    for _ in range(seconds):
        clock.advance(1.0)
        for c in cams:
            c.run(1000 - per_mille, per_mille)
        watch.check()


def test_drops_above_the_share_make_the_reason_and_it_clears_only_well_below(
    videos: Path,
) -> None:
    """20% dropped on 32 cameras: ``overloaded: 20% of frames dropped on 32 cameras``. At
    0.8% (below the 1% bound, above its half) it stands; at 0.4% it clears. From healthy,
    0.8% never raises it: no flapping around the bound."""
    clock = FakeClock()
    cams = _cameras(videos, 32)
    watch = OverloadWatch(cams, OverloadConfig(window_s=10, settle_s=0), clock)
    watch.check()
    assert watch.reasons() == []
    _run(watch, clock, cams, 10, per_mille=200)
    assert watch.reasons() == ["overloaded: 20% of frames dropped on 32 cameras"]
    load = watch.load("c0")
    assert load is not None and load.share == pytest.approx(0.2)
    assert load.fps == pytest.approx(800) and load.fps_configured == 5.0
    _run(watch, clock, cams, 10, per_mille=8)
    load = watch.load("c0")
    assert load is not None and load.share == pytest.approx(0.008)
    assert watch.reasons(), "below the bound but above its half: still overloaded"
    _run(watch, clock, cams, 10, per_mille=4)
    assert watch.reasons() == []
    _run(watch, clock, cams, 20, per_mille=8)
    assert watch.reasons() == [], "0.8% from healthy: not raised"


def test_only_the_cameras_that_drop_are_counted_and_a_few_frames_are_not_judged(
    videos: Path,
) -> None:
    """One camera of four dropping half its frames: the reason names one camera and its
    share. Fewer than ``min_frames`` in the window: nothing judged yet."""
    clock = FakeClock()
    cams = _cameras(videos, 4)
    watch = OverloadWatch(cams, OverloadConfig(window_s=10, min_frames=20, settle_s=0), clock)
    watch.check()
    clock.advance(1.0)
    cams[0].run(5, 5)
    watch.check()
    assert watch.reasons() == [], "10 frames: too few to judge"
    for _ in range(3):
        clock.advance(1.0)
        cams[0].run(5, 5)
        for c in cams[1:]:
            c.run(5)
        watch.check()
    assert watch.reasons() == ["overloaded: 50% of frames dropped on 1 camera"]


def test_lag_above_the_bound_is_a_reason_until_below_half(videos: Path) -> None:
    """A camera analysing 12 s behind real time (bound 10 s): ``overloaded: analysis 12 s
    behind on 1 camera``; at 7 s it stands, at 4 s it clears. A camera that analysed
    nothing in the window is not judged by an old lag."""
    clock = FakeClock()
    cams = _cameras(videos, 2)
    watch = OverloadWatch(cams, OverloadConfig(window_s=5, lag_s=10, settle_s=0), clock)
    cams[0].run(5)
    watch.check()  # its first sample
    for lag, standing in ((12.0, True), (7.0, True), (4.0, False)):
        cams[0].lag_s = lag
        clock.advance(1.0)
        cams[0].run(5)
        watch.check()
        assert bool(watch.reasons()) is standing, lag
    assert watch.reasons() == []
    cams[1].lag_s = 60.0  # stale: camera 1 analysed nothing in the window
    clock.advance(1.0)
    cams[0].run(5)
    watch.check()
    assert watch.reasons() == []


def test_drops_while_a_camera_settles_are_not_counted(videos: Path) -> None:
    """A camera drops half its first frames (decoder and detector starting): within
    ``settle_s`` of its first frame nothing counts, so no reason; drops after it do."""
    clock = FakeClock()
    cams = _cameras(videos, 1)
    watch = OverloadWatch(cams, OverloadConfig(window_s=10, settle_s=15), clock)
    watch.check()
    _run(watch, clock, cams, 5, per_mille=500)
    assert watch.reasons() == [] and watch.load("c0") == CameraLoad(fps_configured=5.0)
    _run(watch, clock, cams, 20, per_mille=0)
    assert watch.reasons() == []
    load = watch.load("c0")
    assert load is not None and load.share == 0 and load.fps == pytest.approx(1000)
    _run(watch, clock, cams, 5, per_mille=500)
    assert [parse(r) is not None for r in watch.reasons()] == [True]


def test_a_standing_reason_is_renewed_at_most_every_renew_s(videos: Path) -> None:
    """While overloaded the share moves every second; the reason's text (a state file
    write each time it changes) follows at most every RENEW_S."""
    clock = FakeClock()
    cams = _cameras(videos, 1)
    watch = OverloadWatch(cams, OverloadConfig(window_s=2, settle_s=0), clock)
    watch.check()
    _run(watch, clock, cams, 3, per_mille=200)
    first = watch.reasons()
    _run(watch, clock, cams, 3, per_mille=400)
    assert watch.reasons() == first
    _run(watch, clock, cams, int(RENEW_S), per_mille=400)
    assert watch.reasons() == ["overloaded: 40% of frames dropped on 1 camera"]


def test_reasons_read_back_and_figures_are_coarse() -> None:
    """The receiver reads the reasons back (``parse``); other reasons are not overload."""
    assert percent(0.2013) == "20%" and percent(0.014) == "1.4%"
    d = parse(drops_reason(0.2013, 32))
    assert d is not None and (d.kind, d.value, d.cameras) == ("drops", 20.0, 32)
    lag = parse(lag_reason(14.2, 1))
    assert lag is not None and (lag.kind, lag.value, lag.cameras) == ("lag", 14.0, 1)
    assert parse("camera_fault:dock") is None
    assert CameraLoad().health() == {
        "dropped_recent": 0,
        "dropped_share": 0.0,
        "fps": None,
        "fps_configured": 0.0,
        "window_s": 0.0,
    }


def test_the_settings_have_bounds_that_name_the_key(tmp_path: Path) -> None:
    """``[health.overload]``: a drop share above 0.5 or a window under 2 s is refused with
    the key named; the defaults are 1% over 60 s, lag 10 s."""
    base = f'[node]\nid = "n"\nsite = "s"\ndata_dir = "{tmp_path}"\n[health.overload]\n'
    assert loads(base).health.overload == OverloadConfig()
    assert OverloadConfig().drop_share == 0.01 and OverloadConfig().window_s == 60
    for bad, key in (("drop_share = 0.9", "drop_share"), ("window_s = 1.0", "window_s")):
        with pytest.raises(ConfigError, match=key):
            loads(base + bad)


def test_a_long_window_keeps_a_bounded_history(videos: Path) -> None:
    """An hour's window sampled every second keeps about ROWS samples per camera, and its
    figures still cover the hour (the share of a steady 5% is 5%)."""
    clock = FakeClock()
    cams = _cameras(videos, 1)
    watch = OverloadWatch(cams, OverloadConfig(window_s=3600, settle_s=0), clock)
    watch.check()
    _run(watch, clock, cams, 7200, per_mille=50)
    load = watch.load("c0")
    assert load is not None and load.share == pytest.approx(0.05)
    assert 3500 <= load.span_s <= 3601
    assert len(watch._samples[id(cams[0])]._rows) <= ROWS + 1


def test_the_status_line_and_edge_status_say_it() -> None:
    """``STATUS=``: the reason as the heartbeat names it; ``edge status``: the reason after
    the state and, per camera, the window's drops, analysed fps and lag; a camera entry of
    a node without the figures shows no such line."""
    reason = drops_reason(0.2, 32)
    line = status_line(Summary(Status.DEGRADED, (reason,), cameras=32))
    assert line == "running: 32 cameras, overloaded: 20% of frames dropped on 32 cameras, outbox 0"
    load = CameraLoad(analysed=240, dropped=60, span_s=60.0, fps_configured=5, lag_s=0.8)
    hall = {"frames": 900, "dropped": 240, "lag_s": 0.8, **load.health()}
    health = {"status": "degraded", "reasons": [reason], "cameras": {"hall": hall, "old": {}}}
    text = render({"health": health, "pid": 7}, 1.0, [])
    assert "degraded (overloaded: 20% of frames dropped on 32 cameras)" in text
    assert "last 60 s: dropped 60 (20.0%), analysed 4.0 of 5 fps, lag 0.8 s" in text
    assert text.count("last 60 s") == 1
