"""`edge bench capacity`: README's command run exactly as written (one real RTSP camera, a
broker with mutual TLS and the real daemon for a few seconds), and the bench's parts."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from edge.bench.capacity_parts import (
    camera_counters,
    node_config,
    proc_sample,
    slope_per_min,
)
from edge.config.loader import loads

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- the command below is run by tests/node/test_capacity_bench.py exactly as written -->"


def documented() -> str:
    """The command in README's ```sh block right after the marker."""
    text = (ROOT / "README.md").read_text()
    assert MARKER in text, "README lost the capacity bench's marker"
    block = re.search(r"```sh\n(.*?)\n```", text[text.index(MARKER) :], re.S)
    assert block is not None
    [command] = block.group(1).splitlines()
    return command


@pytest.mark.slow
def test_documented_capacity_bench_runs() -> None:
    """README's `edge bench capacity 1 ...` runs from the checkout and prints one row for
    one camera: CPU, RSS, threads and analysed fps measured from the running daemon."""
    argv = shlex.split(documented())
    assert argv[:3] == ["edge", "bench", "capacity"]
    run = subprocess.run(
        [sys.executable, "-m", "edge", *argv[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    row = re.search(
        r"^\s+1\s+(?P<cpu>[\d.]+)\s+[\d.]+\s+[\d.]+\s+(?P<rss>\d+)-\d+\s+-?[\d.]+\s+(?P<threads>\d+)\s+"
        r"(?P<fps>[\d.]+) \(>=[\d.]+\)\s+(?P<dropped>[\d.]+)%",
        run.stdout,
        re.M,
    )
    assert row is not None, run.stdout
    assert float(row["cpu"]) > 0 and int(row["rss"]) > 50 and int(row["threads"]) > 2
    assert float(row["fps"]) > 0, run.stdout  # frames analysed in the window


def test_the_bench_config_is_a_valid_node(tmp_path: Path) -> None:
    """What the bench gives the daemon is a valid node config: N RTSP cameras at the fps,
    the onnx detector, heartbeats every 5 s, one mutual-TLS destination."""
    tls = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "n.pem", "key": tmp_path / "n.key"}
    text = node_config(
        tmp_path / "data",
        [f"rtsp://127.0.0.1:{8554 + i}/cam" for i in range(3)],
        fps=5,
        model=tmp_path / "m.onnx",
        broker_port=8883,
        tls=tls,
        extra="[capacity]\nenforce = false\n",
    )
    cfg = loads(text)
    assert [c.name for c in cfg.cameras] == ["cam01", "cam02", "cam03"]
    assert {c.fps for c in cfg.cameras} == {5}
    assert cfg.health.interval_s == 5 and cfg.capacity.enforce is False
    assert cfg.destinations[0].tls is not None


def test_proc_counters_and_slope() -> None:
    """A process's CPU, RSS and threads from /proc; the state file's per-camera counters;
    the least-squares slope per minute."""
    s = proc_sample(os.getpid())
    assert s.cpu_s > 0 and s.rss_mb > 10 and s.threads >= 1
    state = {"health": {"cameras": {"a": {"frames": 10, "dropped": 2}, "b": {"blocked": "x"}}}}
    assert camera_counters(state) == {"a": (10, 2)}
    assert slope_per_min([(0.0, 100.0), (30.0, 101.0), (60.0, 102.0)]) == pytest.approx(2.0)
    assert slope_per_min([(0.0, 1.0)]) == 0.0


def test_bad_input_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing video, a checkout without the package, or no camera at all: exit 1 with
    the option and the problem named, before anything starts."""
    from edge.cli.main import main

    missing = tmp_path / "none.mp4"
    assert main(["bench", "capacity", "1", "--video", str(missing)]) == 1
    assert f"--video: {missing} does not exist" in capsys.readouterr().err
    assert main(["bench", "capacity", "1", "--checkout", str(tmp_path)]) == 1
    assert f"--checkout: {tmp_path} has no edge/ package" in capsys.readouterr().err
    assert main(["bench", "capacity", "0"]) == 1
    assert "camera counts must be at least 1: [0]" in capsys.readouterr().err


def _run(cameras: int, cpu: float, dropped: float) -> dict[str, object]:
    """One camera count's figures as `edge bench capacity --json` writes them."""
    return {
        "cameras": cameras,
        "cpu_pct_machine": cpu,
        "rss_mb_min": 491.2,
        "rss_mb_max": 543.0,
        "rss_mb_per_min": 0.4,
        "threads": 42,
        "fps_per_camera": 5.0,
        "dropped_pct": dropped,
    }


def test_markdown_table_before_and_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--markdown prints README's table; with an earlier --json result each cell reads
    'before -> after' for the counts both have; a figure an older result lacks (detector
    runs, the share analysed behind) reads '-'. A --before that is not a result is named."""
    from edge.bench.capacity_table import markdown
    from edge.cli.main import main

    before = {"runs": [_run(16, 49.0, 0.0), _run(32, 89.0, 20.1)]}
    after = {"runs": [_run(16, 40.0, 0.0), _run(32, 70.4, 0.5), _run(48, 99.0, 9.0)]}
    for r in after["runs"]:
        r |= {"detector_runs_per_camera_s": 1.18, "behind_pct": 5.0}
    lines = markdown(after, before).splitlines()
    assert lines[0].startswith("| cameras | node CPU (of the machine) |")
    assert lines[3] == (
        "| 32 | 89% -> 70% | 491-543 -> 491-543 | 0.4 -> 0.4 | 42 -> 42 | 5.00 -> 5.00 "
        "| 20.1% -> 0.5% | - -> 1.18 | - -> 5% |"
    )
    assert lines[4] == "| 48 | 99% | 491-543 | 0.4 | 42 | 5.00 | 9.0% | 1.18 | 5% |"
    bad = tmp_path / "before.json"
    bad.write_text('{"figures": []}')
    assert main(["bench", "capacity", "1", "--markdown", "--before", str(bad)]) == 1
    assert f"--before: {bad}: no 'runs'" in capsys.readouterr().err
