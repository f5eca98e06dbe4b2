"""The parts ``edge bench capacity`` is made of: looping RTSP servers, the daemon's node
config, what ``/proc`` says about a process, the daemon's state file, and a slope."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.core.errors import EdgeError

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


SHARED = Path("../shared")
DEFAULT_VIDEO = SHARED / "data" / "videos" / "one-by-one-person-detection.mp4"
DEFAULT_MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
DEFAULT_SERVER = SHARED / "tools" / "rtsp_server.py"


@dataclass(frozen=True)
class Options:
    """What ``edge bench capacity`` runs: the window, the cameras and whose daemon."""

    seconds: float = 60.0
    warmup: float = 20.0
    fps: float = 5.0
    model: Path = DEFAULT_MODEL
    video: Path = DEFAULT_VIDEO
    server: Path = DEFAULT_SERVER
    daemon_python: str = sys.executable
    checkout: Path | None = None
    start_timeout: float = 120.0


class BenchError(EdgeError):
    """The capacity bench could not set up or run what it measures."""


@dataclass
class RtspStreams:
    """*count* RTSP servers (``/usr/bin/python3 SERVER VIDEO --port 0``), each looping
    *video* in real time on 127.0.0.1; every client gets its own pipeline from frame 0."""

    server: Path
    video: Path
    count: int
    python: str = "/usr/bin/python3"
    urls: list[str] = field(default_factory=list)
    _procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(self, timeout: float = 20.0) -> list[str]:
        """Start the servers; their rtsp:// URLs, or BenchError naming the one that failed."""
        for _ in range(self.count):
            proc = subprocess.Popen(
                [self.python, str(self.server), str(self.video), "--port", "0"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            self._procs.append(proc)
            self.urls.append(_ready_url(proc, self.server, timeout))
        return self.urls

    def stop(self) -> None:
        """SIGTERM every server, then wait (kill the ones that do not end)."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()


def _ready_url(proc: subprocess.Popen[str], server: Path, timeout: float) -> str:
    """The URL of *proc*'s ``READY rtsp://...`` line."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    said: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("READY "):
            return line.split()[1]
        if line:
            said.append(line.strip())
        elif proc.poll() is not None:
            break
    proc.kill()
    raise BenchError(
        f"RTSP server {server} did not start (exit {proc.poll()}): {' | '.join(said[-3:])}"
    )


def node_config(
    data_dir: Path,
    urls: list[str],
    *,
    fps: float,
    model: Path,
    broker_port: int,
    tls: dict[str, Path],
    extra: str = "",
) -> str:
    """The daemon's TOML: one RTSP camera per URL at *fps*, yolox_nano (*model*) on onnx,
    heartbeats every 5 s (the state file the bench reads), one mutual-TLS destination."""
    cameras = "".join(
        f'[[cameras]]\nname = "cam{i + 1:02d}"\nfps = {fps:g}\n'
        f'detect = {{ kind = "rtsp", url = "{url}" }}\n'
        for i, url in enumerate(urls)
    )
    tls_table = ", ".join(f'{k} = "{v}"' for k, v in tls.items())
    return (
        f'[node]\nid = "bench"\nsite = "bench"\ndata_dir = "{data_dir}"\n'
        '[logging]\nformat = "json"\nlevel = "info"\n'
        f'[detector]\nbackend = "onnx"\nmodel = "{model}"\n'
        "[health]\ninterval_s = 5\n"
        f"{extra}"
        f"{cameras}"
        f'[[destinations]]\nname = "police"\nhost = "localhost"\nport = {broker_port}\n'
        f"tls = {{ {tls_table} }}\n"
    )


@dataclass(frozen=True)
class ProcSample:
    """One look at a process in ``/proc``: when (monotonic), CPU seconds of all its threads
    (user + system), resident MB, threads."""

    at: float
    cpu_s: float
    rss_mb: float
    threads: int


def proc_sample(pid: int) -> ProcSample:
    """*pid*'s CPU time, RSS and thread count now (BenchError when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text()
    except OSError as e:
        raise BenchError(f"the daemon (pid {pid}) is gone: {e}") from e
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3
    utime, stime, threads = int(fields[11]), int(fields[12]), int(fields[17])
    return ProcSample(
        at=time.monotonic(),
        cpu_s=(utime + stime) / CLOCK_TICKS,
        rss_mb=int(statm.split()[1]) * PAGE_MB,
        threads=threads,
    )


def read_state(path: Path) -> dict[str, Any] | None:
    """The daemon's state file (``DATA_DIR/state/status.json``), None while there is none
    or it is being replaced."""
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state


def camera_counters(state: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Each running camera's (frames analysed, frames dropped) in a state file."""
    cams = state.get("health", {}).get("cameras", {})
    return {
        name: (int(c.get("frames", 0)), int(c.get("dropped", 0)))
        for name, c in cams.items()
        if "frames" in c
    }


def camera_sum(state: dict[str, Any], key: str) -> int:
    """The sum over the running cameras of one counter of theirs in a state file (0 where a
    camera has none: a daemon from before the counter)."""
    cams = state.get("health", {}).get("cameras", {})
    return sum(int(c.get(key, 0)) for c in cams.values() if "frames" in c)


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) *points*, per minute (0 for fewer than 2)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return 60 * sum((t - mx) * (v - my) for t, v in points) / var
