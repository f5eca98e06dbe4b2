"""Camera tampering: the view blacked out or covered, the scene moved, the lens defocused.

Each condition must hold for ``hold_s`` before it is reported (lights flickering or a person
walking past the lens are not tampering), and clear for ``hold_s`` before it ends. A view that
goes completely black is reported as ``blackout``: without infrared a covered lens and lights
switched off look the same, and either way the camera is blind.

Times are camera time (:class:`edge.capture.session.CameraClock`), continuous across
reconnects, never session stream time (it restarts at 0 with every session). Only watched
time counts towards ``hold_s``: after a gap in the frames longer than ``max_gap_s`` (a
reconnect) a condition must hold for ``hold_s`` again before it starts or ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.analysis.observation import Observation
from edge.capture.frame import Image
from edge.core.ids import new_id
from edge.core.kinds import Kind, State

WIDTH = 160


@dataclass(frozen=True)
class TamperSettings:
    """Thresholds (on a 160-px-wide grey image)."""

    hold_s: float = 5.0
    black_mean: float = 12.0
    black_std: float = 4.0
    covered_std: float = 6.0
    defocus_ratio: float = 0.25
    moved_overlap: float = 0.3
    min_edges: float = 0.01
    learn_frames: int = 10
    learn_rate: float = 0.02
    max_gap_s: float = 2.0
    """A longer gap between frames restarts the hold (the view was not watched)."""


def measure(image: Image) -> tuple[npt.NDArray[np.uint8], float, float, float]:
    """Small grey image, mean, standard deviation and sharpness (Laplacian variance)."""
    h, w = image.shape[:2]
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    size = (WIDTH, max(1, round(h * WIDTH / w)))
    small: npt.NDArray[np.uint8] = np.asarray(
        cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8
    )
    mean, std = cv2.meanStdDev(small)
    sharp = float(cv2.Laplacian(small, cv2.CV_32F).var())
    return small, float(mean[0][0]), float(std[0][0]), sharp


class TamperWatch:
    """Per camera: learns what the view normally looks like, reports when it stops."""

    def __init__(self, settings: TamperSettings | None = None) -> None:
        self.s = settings or TamperSettings()
        self._ref_edges: npt.NDArray[np.float32] | None = None
        self._ref_sharp = 0.0
        self._learned = 0
        self._candidate: str | None = None
        self._since = 0.0
        self._last_t: float | None = None
        self._clear_since: float | None = None
        self._active: tuple[str, str] | None = None  # (reason, occurrence)

    def _classify(
        self, small: npt.NDArray[np.uint8], mean: float, std: float, sharp: float
    ) -> tuple[str | None, npt.NDArray[np.uint8]]:
        s = self.s
        edges = np.asarray(cv2.Canny(small, 50, 150), np.uint8)
        if mean < s.black_mean and std < s.black_std:
            return "blackout", edges
        if std < s.covered_std:
            return "covered", edges
        if self._learned < s.learn_frames or self._ref_edges is None:
            return None, edges
        ref = self._ref_edges > 0.5
        if ref.mean() >= s.min_edges:
            near = cv2.dilate(edges, np.ones((5, 5), np.uint8)) > 0
            kept = float((ref & near).sum()) / float(ref.sum())
            if kept < s.moved_overlap:
                return "moved", edges
        if self._ref_sharp > 0 and sharp < s.defocus_ratio * self._ref_sharp:
            return "defocused", edges
        return None, edges

    def _learn(self, edges: npt.NDArray[np.uint8], sharp: float) -> None:
        e = (edges > 0).astype(np.float32)
        if self._ref_edges is None or self._ref_edges.shape != e.shape:
            self._ref_edges, self._ref_sharp, self._learned = e, sharp, 1
            return
        rate = (
            1.0 / (self._learned + 1) if self._learned < self.s.learn_frames else self.s.learn_rate
        )
        self._ref_edges += rate * (e - self._ref_edges)
        self._ref_sharp += rate * (sharp - self._ref_sharp)
        self._learned += 1

    def update(self, image: Image, t: float, wall: float) -> list[Observation]:
        """Feed one analysed frame at camera time *t*; returns START/END observations."""
        small, mean, std, sharp = measure(image)
        reason, edges = self._classify(small, mean, std, sharp)
        if reason is None and self._active is None:
            self._learn(edges, sharp)
        unwatched = self._last_t is not None and t - self._last_t > self.s.max_gap_s
        self._last_t = t
        if reason != self._candidate or unwatched:
            self._candidate, self._since = reason, t
        held = t - self._since >= self.s.hold_s
        out: list[Observation] = []
        if self._active is None:
            if reason is not None and held:
                self._active = (reason, new_id())
                out.append(
                    self._seen(
                        State.START,
                        wall,
                        t,
                        reason,
                        self._active[1],
                        mean=round(mean, 1),
                        std=round(std, 1),
                        sharpness=round(sharp, 1),
                    )
                )
        elif reason is None and held:
            was, occurrence = self._active
            out.append(self._seen(State.END, wall, t, was, occurrence))
            self._active = None
        return out

    def _seen(
        self,
        state: State,
        wall: float,
        t: float,
        reason: str,
        occurrence: str,
        **data: float,
    ) -> Observation:
        return Observation(
            Kind.CAMERA_TAMPERED,
            state,
            occurrence,
            stream_time=t,
            wall=wall,
            data={"reason": reason, "stream_time": round(t, 3), **data},
        )
