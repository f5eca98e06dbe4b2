"""``edge bench capture``: what decoding costs, for analysis and for the record role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.bench.measure import in_fresh_process
from edge.capture.file import FileInput
from edge.capture.frame import Frame, Packet, Role
from edge.capture.rtsp import RtspInput


def _input(source: str, roles: Role, analysis_fps: float | None) -> FileInput | RtspInput:
    if "://" in source:
        return RtspInput("bench", source, roles=roles, analysis_fps=analysis_fps)
    return FileInput("bench", Path(source), roles=roles, analysis_fps=analysis_fps)


def _run(source: str, roles: int, analysis_fps: float | None, limit_s: float) -> dict[str, Any]:
    inp = _input(source, Role(roles), analysis_fps)
    frames = packets = 0
    last_pts = 0.0
    for item in inp.stream():
        if isinstance(item, Frame):
            frames += 1
            last_pts = max(last_pts, item.pts)
        elif isinstance(item, Packet):
            packets += 1
            last_pts = max(last_pts, item.pts)
        if last_pts >= limit_s:
            inp.close()
    return {
        "frames_out": frames,
        "frames_decoded": inp.frames_decoded,
        "packets": packets,
        "video_s": last_pts,
    }


def bench_capture(
    source: str, fps: float = 5.0, limit_s: float = 600.0, repeat: int = 3
) -> dict[str, Any]:
    """Figures for three ways of reading *source*, each in a fresh process, the run with the
    least CPU of *repeat* kept (shared machines are noisy; the minimum is the cost):

    - ``decode_all``: every frame decoded and converted to BGR (the naive way);
    - ``analysis``: every frame decoded (H.264 needs its references), only those at *fps*
      converted and handed on;
    - ``record``: packets demuxed for the record role, nothing decoded.
    """
    modes = {
        "decode_all": (int(Role.DETECT), None),
        "analysis": (int(Role.DETECT), fps),
        "record": (int(Role.RECORD), None),
    }
    out: dict[str, Any] = {"source": source, "analysis_fps": fps, "repeat": repeat}
    for name, (roles, rate) in modes.items():
        runs = [in_fresh_process(_run, source, roles, rate, limit_s) for _ in range(repeat)]
        r = min(runs, key=lambda x: x["cpu_s"])
        video_s = max(r["video_s"], 1e-9)
        units = r["packets"] if name == "record" else max(r["frames_decoded"], 1)
        r["cpu_s_per_video_s"] = r["cpu_s"] / video_s
        r["cpu_ms_per_frame"] = 1000 * r["cpu_s"] / max(units, 1)
        if name == "record":
            r["packets_per_s"] = r["packets"] / max(r["wall_s"], 1e-9)
        out[name] = {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
    return out


def format_capture(result: dict[str, Any]) -> str:
    """Human-readable table of :func:`bench_capture`'s result."""
    lines = [
        f"source: {result['source']}  (analysis at {result['analysis_fps']:g} fps, "
        f"least CPU of {result['repeat']} runs)",
        f"{'mode':<11}{'frames':>8}{'packets':>9}{'video s':>9}{'cpu s':>8}"
        f"{'ms/frame':>10}{'cpu s/video s':>15}{'peak RSS MB':>13}",
    ]
    for mode in ("decode_all", "analysis", "record"):
        r = result[mode]
        lines.append(
            f"{mode:<11}{r['frames_out']:>8}{r['packets']:>9}{r['video_s']:>9.1f}"
            f"{r['cpu_s']:>8.2f}{r['cpu_ms_per_frame']:>10.3f}{r['cpu_s_per_video_s']:>15.4f}"
            f"{r['peak_rss_mb']:>13.0f}"
        )
    rec = result["record"]
    lines.append(
        f"record role: {rec['packets_per_s']:.0f} packets/s demuxed, "
        f"{rec['cpu_ms_per_frame']:.4f} ms CPU per packet"
    )
    return "\n".join(lines)
