"""How many cameras a board carries: its profile (what one camera costs, measured or
estimated, with where the figure came from) and the ``[capacity]`` settings.

One camera's cost, in % of one core of the board::

    decode_pct * pixels / ref_pixels * max(1, fps / ref_stream_fps)  +  analysis_pct_per_fps * fps

``decode_pct``: decoding the camera's detect stream (every frame: H.264 needs its references)
and converting the analysed frames, at the profile's reference resolution and stream rate;
``analysis_pct_per_fps``: motion, detector, tracking, clips and delivery per analysed frame
per second (the detector's input size does not follow the camera's resolution). The node
needs the sum over its cameras, as a share of all the board's cores.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import Field

from edge.config.base import Section

MAX_CAMERAS = 48
"""The absolute bound on cameras per node, whatever the board: past it a config is refused
before any capacity arithmetic. 48 unmasked cameras need about 106 threads (below), within
the systemd unit's ``TasksMax=128``."""

TASKS_MAX = 128
"""``TasksMax`` of systemd/warehouse-edge.service: the node's threads may not exceed it."""


def threads_needed(cameras: int, masked: int) -> int:
    """Threads of a node with *cameras* opened cameras, *masked* of them with privacy masks:
    10 of its own, 2 per camera (capture and analysis; FFmpeg decodes on the caller), one
    more per masked camera (its re-encoder). Measured (README, issue 27): 16 cameras 41
    threads, 16 masked 57, 32 cameras 74."""
    return 10 + 2 * cameras + masked


Board = Literal["auto", "pi4", "pi5", "jetson-orin-nano", "x86-2core"]


@dataclass(frozen=True)
class BoardProfile:
    """What one camera costs on a board (see the module) and where the figure came from."""

    name: str
    cores: int
    decode_pct: float
    analysis_pct_per_fps: float
    source: str
    ref_width: int = 768
    ref_height: int = 432
    ref_stream_fps: float = 10.0

    def scaled_to(self, board_pct: float) -> BoardProfile:
        """This profile with both parts scaled so that one reference camera at 5 fps costs
        *board_pct* % of the whole board (a figure measured on the node)."""
        ref = self.camera_pct(self.ref_width, self.ref_height, 5.0) / self.cores
        f = board_pct / ref
        return replace(
            self,
            name=f"{self.name} as measured",
            decode_pct=self.decode_pct * f,
            analysis_pct_per_fps=self.analysis_pct_per_fps * f,
            source=f"measured on this node: {board_pct:g}% per camera ([capacity] camera_pct)",
        )

    def camera_pct(self, width: int, height: int, fps: float) -> float:
        """% of one core a camera of *width* x *height* analysed at *fps* costs."""
        pixels = (width * height) / (self.ref_width * self.ref_height)
        decode = self.decode_pct * pixels * max(1.0, fps / self.ref_stream_fps)
        return decode + self.analysis_pct_per_fps * fps


_X86 = BoardProfile(
    name="x86-2core",
    cores=2,
    decode_pct=1.3,
    analysis_pct_per_fps=1.01,
    source="measured on the 2-core x86 (AMD EPYC) development machine with `edge bench "
    "capacity 16 --warmup 20 --seconds 90` (issue 27, after its work): the real daemon with 16 "
    "RTSP cameras (768x432 10 fps H.264, one-by-one-person-detection looping, analysis 5 fps, "
    "yolox_nano) used 50.8% of the machine, 6.35% of a core per camera; of it `edge bench "
    "capture` decoding at 5 fps analysis: 1.84 s CPU per 139 s, 1.3%",
)
_PI5 = BoardProfile(
    name="pi5",
    cores=4,
    decode_pct=2 * _X86.decode_pct,
    analysis_pct_per_fps=2 * _X86.analysis_pct_per_fps,
    source="estimate, not measured: twice the x86-2core cost per core (Ultralytics' published "
    "YOLO11n ONNX at 640 px: 168 ms on a Pi 5, 100-190 ms on the x86 machine's onnxruntime, "
    "doubled for margin); measure with `edge bench capacity` on the board",
)
_PI4 = BoardProfile(
    name="pi4",
    cores=4,
    decode_pct=2.5 * _PI5.decode_pct,
    analysis_pct_per_fps=2.5 * _PI5.analysis_pct_per_fps,
    source="estimate, not measured: 2.5 times the pi5 cost (Raspberry Pi Ltd gives the Pi 5 "
    "2-3 times the Pi 4's CPU performance); measure with `edge bench capacity` on the board",
)
_ORIN = BoardProfile(
    name="jetson-orin-nano",
    cores=6,
    decode_pct=1.2 * _PI5.decode_pct,
    analysis_pct_per_fps=1.2 * _PI5.analysis_pct_per_fps,
    source="estimate, not measured: 1.2 times the pi5 cost per core (Cortex-A78AE at 1.5 GHz "
    "against the Pi 5's A76 at 2.4 GHz; the detector on the CPU, onnx backend); measure with "
    "`edge bench capacity` on the board",
)
PROFILES: dict[str, BoardProfile] = {p.name: p for p in (_PI4, _PI5, _ORIN, _X86)}


class CapacityConfig(Section):
    """What the node may carry: edge check-config and edge run add up what the cameras
    cost on this board's profile (edge/config/capacity.py: each figure with where it came
    from) and refuse a node above the limit."""

    board: Board = Field(
        default="auto",
        description="The board whose measured cost per camera is used: pi4, pi5, "
        "jetson-orin-nano, x86-2core, or auto (from /proc/device-tree/model; x86-2core on "
        "x86, pi4 on an unknown ARM board).",
    )
    limit_pct: float = Field(
        default=65.0,
        ge=10,
        le=100,
        description="Share of the board's CPU (all cores) the cameras may need; above it the "
        "node is refused, near it (above 85% of it) a warning. Analysis frames are dropped "
        "before the CPU is full when people appear on many cameras at once (issue 27, x86-2core: "
        "none at 51% busy, 4.5% at 70%).",
    )
    camera_pct: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="What one 768x432 camera at 5 fps costs on this board, in % of the whole "
        "board, as `edge bench capacity` measured it here (its '% per cam' column); replaces "
        "the profile's figure, both its parts scaled alike. Unset: the profile's.",
    )
    enforce: bool = Field(
        default=True,
        description="false: above the limit is a warning only (`edge bench capacity` measures "
        "past it; a node measured to carry more).",
    )


def detect_board(model_file: Path = Path("/proc/device-tree/model")) -> str:
    """The profile for this machine: from the device tree's model string on ARM boards,
    ``x86-2core`` on x86 (the smallest x86 measured), ``pi4`` on any other machine (the
    slowest profile: the safe side)."""
    try:
        model = model_file.read_text(errors="replace").lower()
    except OSError:
        model = ""
    if "raspberry pi 5" in model:
        return "pi5"
    if "raspberry pi 4" in model:
        return "pi4"
    if "orin nano" in model:
        return "jetson-orin-nano"
    if not model and platform.machine().lower() in ("x86_64", "amd64", "i686", "x86"):
        return "x86-2core"
    return "pi4"
