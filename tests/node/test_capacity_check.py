"""The capacity check: a board's profile, the cameras' resolution and fps, and preflight's
refusal above the limit (a warning near it) in place of a fixed 16-camera bound."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from nodecfg import node_config

from edge.cli.main import main
from edge.config.capacity import MAX_CAMERAS, PROFILES, TASKS_MAX, detect_board
from edge.config.capacity_check import capacity_problems, capacity_warnings, need
from edge.config.loader import ConfigError, loads

ROOT = Path(__file__).resolve().parents[2]

NODE = '[node]\nid = "n"\nsite = "s"\n'


def rtsp(n: int, fps: float = 5, extra: str = "", start: int = 0) -> str:
    """*n* RTSP camera blocks at *fps*, each with *extra* camera settings."""
    return "".join(
        f'[[cameras]]\nname = "c{i}"\nfps = {fps:g}\n{extra}'
        f'detect = {{ kind = "rtsp", url = "rtsp://10.0.0.{i}/s" }}\n'
        for i in range(start, start + n)
    )


def near_limit(board: str, limit: float = 65.0) -> int:
    """The fewest 768x432 cameras at 5 fps that need more than 85% of *limit* on *board*
    (and not more than the limit)."""
    p = PROFILES[board]
    per_camera = p.camera_pct(p.ref_width, p.ref_height, 5) / p.cores
    n = int(0.85 * limit / per_camera) + 1
    assert n * per_camera <= limit
    return n


def test_cost_per_camera_follows_pixels_and_fps() -> None:
    """A camera's cost: decode scaled by pixels (and by fps past the reference stream rate),
    plus analysis per analysed frame; the board's share is the sum over its cores."""
    p = PROFILES["x86-2core"]
    base = p.decode_pct + 5 * p.analysis_pct_per_fps
    assert p.camera_pct(p.ref_width, p.ref_height, 5) == pytest.approx(base)
    double = p.camera_pct(2 * p.ref_width, p.ref_height, 5)
    assert double == pytest.approx(base + p.decode_pct)
    fast = p.camera_pct(p.ref_width, p.ref_height, 20)
    assert fast == pytest.approx(2 * p.decode_pct + 20 * p.analysis_pct_per_fps)
    n = need(loads(NODE + '[capacity]\nboard = "x86-2core"\n' + rtsp(16)))
    assert n is not None
    assert n.pct == pytest.approx(16 * base / p.cores)
    assert n.unknown_size == 16


def test_sizes_come_from_the_config_and_private_cameras_cost_nothing() -> None:
    """A V4L2 camera counts at its capture size, a camera with ``resolution`` at that size;
    a private camera is never opened, so it needs nothing."""
    p = PROFILES["pi5"]
    cfg = loads(
        NODE
        + '[capacity]\nboard = "pi5"\n'
        + '[[cameras]]\nname = "usb"\nfps = 5\n'
        + 'detect = { kind = "v4l2", device = "/dev/video0", width = 640, height = 360 }\n'
        + rtsp(1, extra="resolution = [1280, 720]\n")
        + rtsp(1, extra="private = true\n", start=1)
    )
    n = need(cfg)
    assert n is not None and n.cameras == 2 and n.unknown_size == 0
    want = p.camera_pct(640, 360, 5) + p.camera_pct(1280, 720, 5)
    assert n.pct == pytest.approx(want / p.cores)


def test_over_the_limit_is_refused_in_words() -> None:
    """32 cameras at 5 fps on a pi4: one line naming the cameras, fps, the share of the
    board, the limit and what to do."""
    cfg = loads(NODE + '[capacity]\nboard = "pi4"\n' + rtsp(32))
    [problem] = capacity_problems(cfg)
    assert re.fullmatch(
        r"cameras: 32 cameras at 5 fps need ~\d+% of a pi4 \(limit 65%; 32 without "
        r"resolution taken as 768x432\); lower fps or move cameras to a second node",
        problem,
    ), problem
    assert capacity_warnings(cfg) == []


def test_near_the_limit_is_a_warning_and_enforce_false_only_warns() -> None:
    """Above 85% of the limit a warning; with ``enforce = false`` over it only a warning
    (what the capacity bench uses to measure past the limit)."""
    near = near_limit("x86-2core")
    cfg = loads(NODE + '[capacity]\nboard = "x86-2core"\n' + rtsp(near))
    assert capacity_problems(cfg) == []
    [warning] = capacity_warnings(cfg)
    assert "near the limit" in warning and f"{near} cameras at 5 fps" in warning
    over = 2 * near
    loose = loads(NODE + '[capacity]\nboard = "x86-2core"\nenforce = false\n' + rtsp(over))
    assert capacity_problems(loose) == []
    [warning] = capacity_warnings(loose)
    assert "over it (capacity.enforce = false)" in warning
    few = loads(NODE + '[capacity]\nboard = "x86-2core"\n' + rtsp(2, fps=2))
    assert capacity_problems(few) == [] and capacity_warnings(few) == []


def test_a_figure_measured_on_the_node_replaces_the_profile() -> None:
    """``camera_pct`` (what `edge bench capacity` measured per camera on this board) scales
    the profile: 32 cameras at 2% each need 64% of a pi4, allowed, said as measured."""
    cfg = loads(NODE + '[capacity]\nboard = "pi4"\ncamera_pct = 2.0\n' + rtsp(32))
    n = need(cfg)
    assert n is not None and n.pct == pytest.approx(64.0)
    assert capacity_problems(cfg) == []
    [warning] = capacity_warnings(cfg)
    assert "32 cameras at 5 fps need ~64% of a pi4 as measured (limit 65%" in warning
    faster = need(loads(NODE + '[capacity]\nboard = "pi4"\ncamera_pct = 2.0\n' + rtsp(32, 10)))
    assert faster is not None and faster.pct > 64.0


def test_absolute_bound_and_threads() -> None:
    """More than the absolute maximum is refused at validation in words (not the list
    back); masked cameras past the service's TasksMax are refused by preflight."""
    with pytest.raises(ConfigError) as e:
        loads(NODE + rtsp(MAX_CAMERAS + 1))
    assert f"{MAX_CAMERAS + 1} cameras: a node takes at most {MAX_CAMERAS}" in str(e.value)
    assert "rtsp://" not in str(e.value)
    masked = 'resolution = [768, 432]\nprivacy_masks = [{ name = "m", points = [[0, 0], [9, 0], [9, 9]] }]\n'  # noqa: E501
    cfg = loads(NODE + "[capacity]\nenforce = false\n" + rtsp(MAX_CAMERAS, fps=1, extra=masked))
    [problem] = capacity_problems(cfg)
    assert f"more than the service's TasksMax={TASKS_MAX}" in problem
    unit = (ROOT / "systemd" / "warehouse-edge.service").read_text()
    assert f"\nTasksMax={TASKS_MAX}\n" in unit


def test_board_from_the_device_tree(tmp_path: Path) -> None:
    """auto picks the profile from /proc/device-tree/model; an unknown ARM board gets the
    slowest profile."""
    model = tmp_path / "model"
    for text, board in (
        ("Raspberry Pi 4 Model B Rev 1.5\x00", "pi4"),
        ("Raspberry Pi 5 Model B Rev 1.0\x00", "pi5"),
        ("NVIDIA Jetson Orin Nano Developer Kit\x00", "jetson-orin-nano"),
        ("Some Other Board\x00", "pi4"),
    ):
        model.write_text(text)
        assert detect_board(model) == board
    assert detect_board(tmp_path / "none") in ("x86-2core", "pi4")


def test_check_config_refuses_and_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`edge check-config`: over the limit exit 2 with the line; near it exit 0 with a
    WARNING line naming the cameras."""
    dest = '[[destinations]]\nname = "police"\nhost = "localhost"\nallow_insecure = true\n'
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        node_config(tmp_path / "data", "n", extra='[capacity]\nboard = "pi4"\n') + rtsp(32) + dest
    )
    assert main(["check-config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "cameras: 32 cameras at 5 fps need ~" in err and "of a pi4 (limit 65%" in err
    near = near_limit("pi4")
    cfg.write_text(
        node_config(tmp_path / "data", "n", extra='[capacity]\nboard = "pi4"\n') + rtsp(near) + dest
    )
    assert main(["check-config", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert f"WARNING: cameras: {near} cameras at 5 fps need ~" in err


def test_edge_run_refuses_the_same(tmp_path: Path) -> None:
    """`edge run` refuses a node over the limit before it starts anything: exit 2, the same
    line on stderr, no traceback."""
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        node_config(tmp_path / "data", "n", extra='[capacity]\nboard = "pi4"\n')
        + rtsp(32)
        + '[[destinations]]\nname = "police"\nhost = "localhost"\nallow_insecure = true\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "cameras: 32 cameras at 5 fps need ~" in run.stderr
    assert "of a pi4 (limit 65%" in run.stderr
