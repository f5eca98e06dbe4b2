"""Threads are bounded and sized with the unit: a real node with 16 cameras (looping file
inputs of a short H.264 clip, paced like cameras) stays well below the unit's ``TasksMax``,
counted the way systemd counts (the kernel's threads, FFmpeg's decoder threads included),
and does not grow while its inputs reopen."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nodecfg import file_camera, node_config, sensor
from synth import MASK_TOML, write_video

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "warehouse-edge.service"
PROBE = Path(__file__).with_name("thread_probe.py")
CAMERAS = 16
SHARE = 0.75
"""At most this share of TasksMax: room for reconnects, clip writes and a second input."""


def tasks_max() -> int:
    """``TasksMax=`` of the unit the node runs under."""
    m = re.search(r"^TasksMax=(\d+)\s*$", UNIT.read_text(), re.MULTILINE)
    assert m, "the unit sets no numeric TasksMax"
    return int(m.group(1))


def _config(data: Path, video: Path, cameras: int, *, masked: bool = False) -> Path:
    cams = [
        file_camera(
            f"cam{n:02d}", video, realtime=True, fps=5, extra=MASK_TOML if masked else ""
        ).replace("realtime = true }", "realtime = true, loop = true }")
        for n in range(cameras)
    ]
    text = node_config(
        data,
        f"threads{cameras}",
        mock_gpio=True,
        cameras=cams,
        sensors=[sensor("door", "door", pin=17)],
        destinations=[
            '[[destinations]]\nname = "police"\nhost = "127.0.0.1"\nport = 1\nallow_insecure = true'
        ],
    )
    path = data / "node.toml"
    data.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The probe's figures: a node with 1 camera, one with 16, one with 16 masked cameras
    (their clips re-encoded with libx264), and one decoder and one encoder alone."""
    tmp = tmp_path_factory.mktemp("threads")
    video = write_video(tmp / "short.mp4", frames=30)  # 3 s at 10 fps: reopened while sampled
    configs = [
        _config(tmp / "one", video, 1),
        _config(tmp / "many", video, CAMERAS),
        _config(tmp / "masked", video, CAMERAS, masked=True),
    ]
    run = subprocess.run(
        [sys.executable, str(PROBE), "4", str(video), *map(str, configs)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if run.returncode != 0:
        pytest.fail(f"thread probe failed: {run.stderr[-3000:]}")
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    one, many, masked, codecs = lines
    return {"one": one, "many": many, "masked": masked, **codecs}


def _per_camera(figures: dict[str, Any], key: str, count: str) -> float:
    """Threads per camera of node *key*: from the 1- and 16-camera nodes, the node's own
    threads (links, finalizer, housekeeper, main) are told apart from the cameras'."""
    one, many = figures["one"][count], figures["many"][count]
    base = one - (many - one) / (CAMERAS - 1)
    return float(figures[key][count] - base) / CAMERAS


def _print(figures: dict[str, Any]) -> None:
    one, limit = figures["one"], tasks_max()
    print(
        f"\nthreads ({len(os.sched_getaffinity(0))} cores here; TasksMax {limit}, "
        f"allowed {int(limit * SHARE)}): 1 camera {one['os_steady']} OS, "
        f"{one['python_peak']} Python; one decoder adds {figures['decoder_threads']} FFmpeg "
        f"threads, one libx264 encoder {figures['encoder_threads']}"
    )
    for key in ("many", "masked"):
        f = figures[key]
        print(
            f"  {CAMERAS} {'masked ' if key == 'masked' else ''}cameras: per camera "
            f"{_per_camera(figures, key, 'os_steady'):.1f} OS "
            f"({_per_camera(figures, key, 'python_peak'):.1f} Python); total "
            f"{f['os_steady']} OS (peak {f['os_peak']}), {f['python_peak']} Python"
        )


def _fits(figures: dict[str, Any], key: str) -> None:
    """The peak thread count fits in SHARE of TasksMax."""
    peak, allowed = figures[key]["os_peak"], tasks_max() * SHARE
    assert peak <= allowed, f"peak {peak} threads > {allowed:.0f}: {figures[key]}"


@pytest.mark.slow
def test_sixteen_cameras_stay_well_below_tasks_max(figures: dict[str, Any]) -> None:
    """16 cameras: the process's peak thread count, as the kernel counts it (FFmpeg's own
    threads included), is at most 75% of the unit's TasksMax; the figures are printed."""
    _print(figures)
    many = figures["many"]
    assert many["cameras"] == CAMERAS and many["frames"] > CAMERAS * 5, many
    _fits(figures, "many")


@pytest.mark.slow
def test_sixteen_masked_cameras_stay_well_below_tasks_max(figures: dict[str, Any]) -> None:
    """16 masked cameras (the worst case: every clip re-encoded, one libx264 encoder and one
    encode thread per camera): the peak still fits in 75% of TasksMax."""
    masked = figures["masked"]
    assert masked["cameras"] == CAMERAS and masked["frames"] > CAMERAS * 5, masked
    _fits(figures, "masked")


@pytest.mark.slow
def test_python_threads_are_bounded_and_released(figures: dict[str, Any]) -> None:
    """Python threads per camera are a fixed number whatever the cores (capture and analysis;
    a masked camera's encoder besides); after stop the node's threads are gone."""
    assert _per_camera(figures, "many", "python_peak") <= 2.0
    assert _per_camera(figures, "masked", "python_peak") <= 3.0
    for key in ("many", "masked"):
        assert figures[key]["after_stop_os"] <= figures["one"]["built_os"] + 2, figures[key]


@pytest.mark.slow
def test_codecs_add_no_threads(figures: dict[str, Any]) -> None:
    """Decoding a camera to BGR and encoding a masked camera's frames run on the calling
    thread: no FFmpeg threads per core (on an 8-core Jetson, 16 cameras would otherwise add
    over 200 threads and pass TasksMax)."""
    assert (figures["decoder_threads"], figures["encoder_threads"]) == (0, 0)
