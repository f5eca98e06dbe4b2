"""``edge bench vision``: the analysis pipeline of one camera on a video, as the daemon runs
it (capture thread, bounded queue, analysis thread), with where the time goes."""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

from edge.analysis.detect.factory import build_detector
from edge.bench.measure import in_fresh_process
from edge.capture.file import FileInput
from edge.capture.frame import Frame
from edge.config.cameras import CameraConfig
from edge.config.detection import DetectorConfig
from edge.config.loader import loads
from edge.events.context import EventFactory
from edge.events.model import Event, State
from edge.node.camera import CameraWorker


def camera_for(video: Path, fps: float, tracker: str | None = None) -> CameraConfig:
    """A replay camera for *video* at analysis rate *fps*, default detection settings (but
    the *tracker* setting when given)."""
    detection = f'\ndetection = {{ tracker = "{tracker}" }}' if tracker else ""
    return loads(f"""
[node]
id = "bench"
site = "bench"
[[cameras]]
name = "bench"
fps = {fps}
detect = {{ kind = "file", path = "{video}" }}{detection}
""").cameras[0]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _run(video: str, fps: float, detector_json: str, tracker: str | None) -> dict[str, Any]:
    path = Path(video)
    cam = camera_for(path, fps, tracker)
    detector = build_detector(DetectorConfig.model_validate_json(detector_json))
    # decode alone, to say what the capture stage costs
    c0 = _cpu()
    decode_in = FileInput("bench", path, analysis_fps=fps)
    decoded = sum(1 for i in decode_in.stream() if isinstance(i, Frame))
    decode_cpu = _cpu() - c0
    # the pipeline as the daemon runs it
    events: list[Event] = []
    inp = FileInput("bench", path, analysis_fps=fps)
    worker = CameraWorker(
        cam, [inp], EventFactory("bench", "bench"), events.append, detector=detector
    )
    c0, t0 = _cpu(), time.perf_counter()
    worker.start()
    worker.join()
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    st = worker.analyzer.stats
    video_s = (decoded / fps) if decoded else 0.0
    return {
        "video": video,
        "detector": detector.name if detector else "none",
        "tracker": cam.detection.tracker,
        "analysis_fps": fps,
        "frames": st.frames,
        "video_s": round(video_s, 2),
        "decode_ms_per_frame": round(1000 * decode_cpu / max(decoded, 1), 3),
        "motion_ms_per_frame": round(1000 * st.motion_s / max(st.frames, 1), 3),
        "motion_frames": st.motion_frames,
        "tamper_frames": st.tamper_frames,
        "tamper_ms_per_look": round(1000 * st.tamper_s / max(st.tamper_frames, 1), 3),
        "detector_calls": st.detector_calls,
        "detector_share": round(st.detector_calls / max(st.frames, 1), 4),
        "ms_per_detector_call": round(1000 * st.detector_s / max(st.detector_calls, 1), 2),
        "person_events": sum(1 for e in events if e.kind == "person" and e.state == "start"),
        "pipeline_wall_s": round(wall, 3),
        "pipeline_cpu_s": round(cpu, 3),
        "cpu_s_per_video_s": round(cpu / max(video_s, 1e-9), 4),
        "x_realtime": round(video_s / max(wall, 1e-9), 2),
        "events": occurrences(events),
    }


def occurrences(events: list[Event]) -> list[dict[str, Any]]:
    """Every occurrence (a person, a motion episode, lights off...) with its start and end
    stream time in seconds (None: never ended), in order of start: for comparing a run with
    ground truth by a script."""
    spans: dict[str, dict[str, Any]] = {}
    for e in events:
        t = e.data.get("stream_time")
        span = spans.setdefault(
            e.occurrence, {"kind": str(e.kind), "camera": e.camera, "start": None, "end": None}
        )
        if e.state in (State.START, State.INSTANT) and span["start"] is None:
            span["start"] = t
        if e.state in (State.END, State.INSTANT):
            span["end"] = t
    return sorted(spans.values(), key=lambda s: (s["start"] is None, s["start"] or 0.0))


def bench_vision(
    video: str, detector: DetectorConfig, fps: float = 5.0, tracker: str | None = None
) -> dict[str, Any]:
    """Figures for one run in a fresh process (model loading not counted); *tracker*: the
    camera's ``tracker`` setting (None: its default)."""
    r = in_fresh_process(_run, video, fps, detector.model_dump_json(), tracker, warmup=False)
    r.pop("wall_s", None)
    r.pop("cpu_s", None)
    r["peak_rss_mb"] = round(r["peak_rss_mb"], 1)
    return r


def format_vision(r: dict[str, Any], *, events: bool = False) -> str:
    """Human-readable lines (with *events*: one more line per occurrence)."""
    spans = [f"  {s['kind']:<16} {_t(s['start'])} -> {_t(s['end'])}" for s in r["events"] if events]
    return "\n".join(
        [
            f"video: {r['video']}  detector: {r['detector']}  tracker: {r['tracker']}  "
            f"analysis {r['analysis_fps']:g} fps",
            f"frames analysed {r['frames']} ({r['video_s']:.1f} s of video); "
            f"person events {r['person_events']}",
            f"decode {r['decode_ms_per_frame']:.2f} ms/frame   motion "
            f"{r['motion_ms_per_frame']:.2f} ms/frame (motion in {r['motion_frames']} frames)",
            f"detector calls {r['detector_calls']} ({100 * r['detector_share']:.1f}% of frames), "
            f"{r['ms_per_detector_call']:.1f} ms per call",
            f"pipeline {r['pipeline_wall_s']:.2f} s wall, {r['pipeline_cpu_s']:.2f} s CPU = "
            f"{r['cpu_s_per_video_s']:.3f} CPU s per video s; {r['x_realtime']:.1f}x real time; "
            f"peak RSS {r['peak_rss_mb']:.0f} MB",
            *spans,
        ]
    )


def _t(t: float | None) -> str:
    return "open" if t is None else f"{t:8.2f} s"
