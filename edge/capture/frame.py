"""What leaves the capture stage: decoded frames, encoded packets, and stream descriptions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from fractions import Fraction

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


class Role(IntFlag):
    """What an input is used for: decoded frames for analysis, or material for clips."""

    DETECT = 1
    RECORD = 2


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded BGR frame of one camera, privacy mask already applied.

    ``pts`` is stream time in seconds from the start of the session (from the stream's
    timestamps, or frame index over a configured rate when it has none): it restarts at 0 with
    every session (``session``, from 1: each connection, or pass through a file, of the
    input), so times of two sessions must never be compared (see
    :mod:`edge.capture.session`). ``mono`` and ``wall`` are when it was captured (monotonic
    and Unix time). ``roles`` says whom it is for: DETECT frames come at the analysis rate;
    RECORD frames (every frame, for cameras whose clips must be encoded from masked frames)
    feed the clip stage.
    """

    camera: str
    seq: int
    pts: float
    mono: float
    wall: float
    image: Image
    roles: Role = Role.DETECT
    session: int = 1


@dataclass(frozen=True, slots=True)
class Packet:
    """One encoded packet of the record input, passed through without decoding."""

    camera: str
    data: bytes
    pts: float
    dts: float | None
    keyframe: bool
    mono: float
    wall: float


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """Describes the record input's encoded stream; sent before its first packet (and again
    after every reconnect) so the clip stage can remux without decoding."""

    camera: str
    codec: str
    width: int
    height: int
    time_base: Fraction
    fps: float | None
    extradata: bytes | None
    annexb: bool
    """True when SPS/PPS travel in-band (raw .h264, picamera2); False for avcC (mp4)."""


Item = Frame | Packet | StreamInfo
