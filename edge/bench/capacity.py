"""``edge bench capacity N [N ...]``: how many cameras this machine carries.

For each N: N real RTSP servers (the GStreamer test server, each looping the video in real
time), a private mosquitto with mutual TLS, and the real daemon (``python -m edge run``, a
subprocess) with N RTSP cameras at the analysis rate, the ONNX detector. After the cameras
deliver frames, W s of warm-up, then S s measured from ``/proc`` and the daemon's state file:
node CPU (% of the machine: all cores), RSS min-max and its slope (MB/min), threads, analysed
fps per camera, analysis frames dropped.

``--checkout DIR`` (and ``--daemon-python``) runs the daemon of another checkout (an older
commit in a ``git worktree``) with the same harness, for a before/after table. A checkout
without the capacity check (``edge.config.capacity``) still refuses more than 16 cameras:
that bound is lifted in memory only, in the daemon the bench starts (as the issue measured);
a checkout with it gets ``[capacity] enforce = false``, so the bench can measure past the
limit the board's profile sets (that is what it is for).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from edge.bench.capacity_parts import (
    BenchError,
    Options,
    ProcSample,
    RtspStreams,
    camera_counters,
    camera_sum,
    node_config,
    proc_sample,
    read_state,
    slope_per_min,
)
from edge.bench.capacity_timeline import Timeline
from edge.config.capacity_check import need
from edge.config.loader import ConfigError, load
from edge.core.logs import get_logger
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA

log = get_logger(__name__)

_CORES = os.cpu_count() or 1
"""The machine's cores: CPU is given as a share of all of them."""

_LIFT_BOUND = """\
import sys
import annotated_types
from edge.config import root
f = root.EdgeConfig.model_fields["cameras"]
f.metadata = [m for m in f.metadata if not isinstance(m, annotated_types.MaxLen)]
root.EdgeConfig.model_rebuild(force=True)
from edge.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
"""The daemon of a checkout without the capacity check, its camera bound lifted in memory."""


def _env(opts: Options) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    env.pop("WATCHDOG_USEC", None)
    if opts.checkout is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(opts.checkout.resolve()), *filter(None, [env.get("PYTHONPATH")])]
        )
    return env


def _python(opts: Options, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    cwd = opts.checkout.resolve() if opts.checkout is not None else None
    return subprocess.run(
        [opts.daemon_python, "-c", code, *args],
        env=_env(opts),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _has_capacity_check(opts: Options) -> bool:
    return _python(opts, "import edge.config.capacity").returncode == 0


def _check_inputs(opts: Options) -> None:
    for what, path in (("video", opts.video), ("model", opts.model), ("server", opts.server)):
        if not path.is_file():
            raise BenchError(f"--{what}: {path} does not exist")
    if opts.checkout is not None and not (opts.checkout / "edge" / "__init__.py").is_file():
        raise BenchError(f"--checkout: {opts.checkout} has no edge/ package")


class _Daemon:
    """The node under test: ``python -m edge run`` (or the bound-lifting launcher)."""

    def __init__(self, opts: Options, config: Path, logfile: Path, lift: bool) -> None:
        self.logfile = logfile
        code = (
            _LIFT_BOUND
            if lift
            else "import sys\nfrom edge.cli.main import main\n" + ("sys.exit(main(sys.argv[1:]))")
        )
        keys = _python(opts, code, "keys", "init", "--config", str(config))
        if keys.returncode != 0:
            raise BenchError(f"edge keys init failed: {(keys.stderr or keys.stdout).strip()}")
        self._log = logfile.open("ab")
        self.proc = subprocess.Popen(
            [opts.daemon_python, "-c", code, "run", "--config", str(config)],
            env=_env(opts),
            cwd=opts.checkout.resolve() if opts.checkout is not None else None,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def alive(self) -> None:
        """BenchError with the log's tail when the daemon has ended."""
        if self.proc.poll() is not None:
            tail = self.logfile.read_text(errors="replace").splitlines()[-5:]
            raise BenchError(f"the daemon ended (exit {self.proc.returncode}): {' | '.join(tail)}")

    def stop(self) -> None:
        """SIGTERM, wait up to 60 s, kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def _wait_analysing(daemon: _Daemon, state: Path, n: int, timeout: float) -> dict[str, Any]:
    """The first state in which all *n* cameras have analysed frames."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        daemon.alive()
        s = read_state(state)
        if s is not None:
            counters = camera_counters(s)
            seen = sum(frames > 0 for frames, _ in counters.values())
            if seen >= n:
                return s
        time.sleep(0.5)
    raise BenchError(f"{seen} of {n} cameras analysed frames within {timeout:g} s")


def _latest_state(state: Path, after: float, timeout: float = 15.0) -> dict[str, Any]:
    """The first state file written after Unix time *after*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = read_state(state)
        if s is not None and float(s.get("written", 0)) > after:
            return s
        time.sleep(0.2)
    raise BenchError(f"no state file written within {timeout:g} s")


def _window(daemon: _Daemon, seconds: float, timeline: Timeline) -> list[ProcSample]:
    """Samples of the daemon once a second for *seconds* (each a point of *timeline*)."""
    timeline.start()
    samples = [proc_sample(daemon.proc.pid)]
    timeline.add(samples[0])
    end = samples[0].at + seconds
    while (now := time.monotonic()) < end:
        time.sleep(min(1.0, end - now))
        daemon.alive()
        samples.append(proc_sample(daemon.proc.pid))
        timeline.add(samples[-1])
    return samples


def _figures(
    n: int, samples: list[ProcSample], s0: dict[str, Any], s1: dict[str, Any]
) -> dict[str, Any]:
    first, last = samples[0], samples[-1]
    elapsed = max(last.at - first.at, 1e-9)
    c0, c1 = camera_counters(s0), camera_counters(s1)
    dt = max(float(s1["written"]) - float(s0["written"]), 1e-9)
    fps = [(c1[k][0] - c0[k][0]) / dt for k in c1 if k in c0]
    analysed = sum(c1[k][0] - c0[k][0] for k in c1 if k in c0)
    dropped = sum(c1[k][1] - c0[k][1] for k in c1 if k in c0)
    rss = [x.rss_mb for x in samples]
    calls = camera_sum(s1, "detector_calls") - camera_sum(s0, "detector_calls")
    behind = camera_sum(s1, "behind_frames") - camera_sum(s0, "behind_frames")
    return {
        "cameras": n,
        "window_s": round(elapsed, 1),
        "cpu_pct_machine": round(100 * (last.cpu_s - first.cpu_s) / elapsed / _CORES, 1),
        "cpu_pct_per_camera": round(100 * (last.cpu_s - first.cpu_s) / elapsed / _CORES / n, 2),
        "rss_mb_min": round(min(rss), 1),
        "rss_mb_max": round(max(rss), 1),
        "rss_mb_per_min": round(slope_per_min([(x.at - first.at, x.rss_mb) for x in samples]), 1),
        "threads": max(x.threads for x in samples),
        "fps_per_camera": round(sum(fps) / len(fps), 2) if fps else 0.0,
        "fps_per_camera_min": round(min(fps), 2) if fps else 0.0,
        "frames_analysed": analysed,
        "frames_dropped": dropped,
        "dropped_pct": round(100 * dropped / max(analysed + dropped, 1), 2),
        "detector_runs_per_camera_s": round(calls / dt / max(len(fps), 1), 2),
        "behind_pct": round(100 * behind / max(analysed, 1), 1),
        "status": s1.get("health", {}).get("status"),
        "reasons": s1.get("health", {}).get("reasons", []),
    }


def _predicted(config: Path) -> dict[str, Any] | None:
    """What this checkout's capacity check predicts for the bench's node config: the
    board's profile and the share of it (None past the absolute bound)."""
    try:
        n = need(load(config))
    except ConfigError:
        return None
    return None if n is None else {"board": n.profile.name, "pct": round(n.pct, 1)}


def measure(n: int, opts: Options, work: Path) -> dict[str, Any]:
    """Figures for *n* cameras (all parts started in *work* and stopped afterwards)."""
    ca = DemoCA(work / "pki")
    cert = ca.issue("bench-node")
    broker = LocalBroker(work / "broker", ca)
    streams = RtspStreams(opts.server.resolve(), opts.video.resolve(), n)
    daemon: _Daemon | None = None
    broker.start()
    try:
        urls = streams.start()
        lift = not _has_capacity_check(opts)
        config = work / "node.toml"
        config.write_text(
            node_config(
                work / "data",
                urls,
                fps=opts.fps,
                model=opts.model.resolve(),
                broker_port=broker.tls_port,
                tls={"ca": ca.ca_path, "cert": cert.cert, "key": cert.key},
                extra="" if lift else "[capacity]\nenforce = false\n",
            )
        )
        state = work / "data" / "state" / "status.json"
        daemon = _Daemon(opts, config, work / "node.log", lift)
        log.info("capacity.started", cameras=n, pid=daemon.proc.pid, bound_lifted=lift)
        _wait_analysing(daemon, state, n, opts.start_timeout + 3 * n)
        time.sleep(opts.warmup)  # the warm-up itself: nothing is measured in it
        daemon.alive()
        s0 = _latest_state(state, time.time())
        timeline = Timeline(state, daemon.logfile, _CORES)
        samples = _window(daemon, opts.seconds, timeline)
        s1 = _latest_state(state, time.time())
        out = _figures(n, samples, s0, s1)
        out["timeline"] = timeline.points
        out["bound_lifted"] = lift
        out["profile_pct"] = _predicted(config)
        return out
    finally:
        if daemon is not None:
            daemon.stop()
        streams.stop()
        broker.stop()


def bench_capacity(counts: list[int], opts: Options) -> dict[str, Any]:
    """Run :func:`measure` for each camera count in *counts*, one after the other."""
    if any(n < 1 for n in counts):
        raise BenchError(f"camera counts must be at least 1: {counts}")
    _check_inputs(opts)
    runs = []
    for n in counts:
        with tempfile.TemporaryDirectory(prefix=f"edge-capacity-{n}-") as tmp:
            runs.append(measure(n, opts, Path(tmp)))
    return {
        "machine_cores": _CORES,
        "fps": opts.fps,
        "warmup_s": opts.warmup,
        "seconds": opts.seconds,
        "video": str(opts.video),
        "model": str(opts.model),
        "checkout": str(opts.checkout.resolve()) if opts.checkout else None,
        "daemon_python": opts.daemon_python,
        "runs": runs,
    }


def format_capacity(result: dict[str, Any]) -> str:
    """A table of :func:`bench_capacity`'s result, one row per camera count. ``profile %``:
    what this checkout's capacity check predicts of the machine for those cameras."""
    who = result["checkout"] or "this checkout"
    boards = {r["profile_pct"]["board"] for r in result["runs"] if r["profile_pct"]}
    lines = [
        f"daemon: {who} ({result['daemon_python']}); {result['machine_cores']} cores; "
        f"analysis {result['fps']:g} fps; warm-up {result['warmup_s']:g} s, "
        f"measured {result['seconds']:g} s; profile: {', '.join(sorted(boards)) or '-'}",
        f"{'cameras':>7} {'CPU % machine':>13} {'profile %':>9} {'% per cam':>9} "
        f"{'RSS MB':>13} {'MB/min':>7} {'threads':>7} {'fps/cam':>13} {'dropped':>8} "
        f"{'det/s/cam':>9} {'behind':>7}  status",
    ]
    for r in result["runs"]:
        predicted = f"{r['profile_pct']['pct']:.1f}" if r["profile_pct"] else "-"
        status = str(r["status"])
        if r["reasons"]:
            status += f" ({'; '.join(map(str, r['reasons']))})"
        if r["bound_lifted"] and r["cameras"] > 16:
            status += " [16-camera bound lifted in memory]"
        lines.append(
            f"{r['cameras']:>7} {r['cpu_pct_machine']:>13.1f} {predicted:>9} "
            f"{r['cpu_pct_per_camera']:>9.2f} {r['rss_mb_min']:>6.0f}-{r['rss_mb_max']:<6.0f} "
            f"{r['rss_mb_per_min']:>7.1f} {r['threads']:>7} "
            f"{r['fps_per_camera']:>5.2f} (>={r['fps_per_camera_min']:.2f}) "
            f"{r['dropped_pct']:>7.2f}% {r.get('detector_runs_per_camera_s', 0):>9.2f} "
            f"{r.get('behind_pct', 0):>6.1f}%  {status}"
        )
    return "\n".join(lines)
