"""``edge bench clips``: what cutting a clip costs, remuxed versus re-encoded."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from edge.bench.measure import in_fresh_process
from edge.capture.file import FileInput
from edge.capture.frame import Frame, Packet, Role, StreamInfo
from edge.clips.encoder import FrameEncoder
from edge.clips.mp4 import write_mp4


def _run(video: str, seconds: float, repeat: int) -> dict[str, Any]:
    items = list(FileInput("bench", Path(video), roles=Role.RECORD).stream())
    info = next(i for i in items if isinstance(i, StreamInfo))
    packets = [p for p in items if isinstance(p, Packet) and p.pts < seconds]
    frames = [
        f
        for f in FileInput("bench", Path(video)).stream()
        if isinstance(f, Frame) and f.pts < seconds
    ]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        t0 = time.process_time()
        for _ in range(repeat):
            written = write_mp4(out, info, packets)
        remux_cpu = (time.process_time() - t0) / repeat
        t0 = time.process_time()
        enc = FrameEncoder("bench", info.fps or 25.0)
        encoded = [x for f in frames for x in enc.encode(f)]
        enc_info = next(x for x in encoded if isinstance(x, StreamInfo))
        enc_packets = [x for x in encoded if isinstance(x, Packet)]
        write_mp4(out, enc_info, enc_packets)
        encode_cpu = time.process_time() - t0
    return {
        "video": video,
        "clip_s": written.duration_s,
        "packets": written.packets,
        "clip_bytes": written.bytes,
        "remux_cpu_ms_per_clip": round(1000 * remux_cpu, 2),
        "encode_cpu_ms_per_clip": round(1000 * encode_cpu, 1),
        "encode_cpu_ms_per_frame": round(1000 * encode_cpu / max(len(frames), 1), 2),
        "remux_repeats": repeat,
    }


def bench_clips(video: str, seconds: float = 15.0, repeat: int = 20) -> dict[str, Any]:
    """Cut a *seconds* clip from *video* by remux (*repeat* times) and by re-encoding."""
    r = in_fresh_process(_run, video, seconds, repeat, warmup=False)
    for k in ("wall_s", "cpu_s"):
        r.pop(k, None)
    return r


def format_clips(r: dict[str, Any]) -> str:
    """Human-readable lines."""
    return (
        f"video: {r['video']}  clip {r['clip_s']:.1f} s, {r['packets']} packets, "
        f"{r['clip_bytes'] / 1e6:.2f} MB\n"
        f"remux (no decode, no encode): {r['remux_cpu_ms_per_clip']:.1f} ms CPU per clip "
        f"(mean of {r['remux_repeats']})\n"
        f"re-encode from frames (masked cameras): {r['encode_cpu_ms_per_clip']:.0f} ms CPU per "
        f"clip, {r['encode_cpu_ms_per_frame']:.2f} ms per frame"
    )
