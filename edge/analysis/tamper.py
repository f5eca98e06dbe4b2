"""Camera tampering (the lens covered or sprayed, the camera moved, the lens defocused) and,
told apart from it, the lights going off.

Darkness is not tampering. The lights go off every night in every warehouse, and a dark view
alone says nothing about the camera: an encoder keeps a dark room at a flat 0, which is what a
taped lens gives too (alternating-light.h264). Tampering needs evidence that this camera's
view, not the room, was interfered with. The rules, on a 160-px-wide grey image per frame:

- *Structure*: the image is normalised by its local contrast (so a dim or dark room shows its
  residual structure as a lit one does; sensor noise, smoothed first, stays small) and
  correlated with the same normalisation of the learned normal view: 1 = the learned scene,
  0 = none of it (noise, a cover, another scene). Before the view is learned, the previous
  frame stands in (a real scene stays, noise does not).
- *Dark* (mean grey under ``dark_mean``): ``lights_off``, unless the way into the dark was
  interference: at least ``evidence_frames`` analysed frames in a row, just before the view
  went dark and still lit, that were tampering (veiled, blurred or the scene lost: a lens
  sprayed or covered) or in which part of the view had gone dark and structureless while
  the rest was unchanged, that part growing to at least ``closed_part`` (a hand or cloth
  closing over the lens). Such darkness is tampering (``blackout``), unless the learned
  scene is seen in it, sharp. Lights darken the view as a whole and keep its structure while
  they fade (alternating-light.h264: 110 to 0 in 1 s); a room going dark bank by bank keeps
  its structure in the dark part; one half-lit frame at the switch is a rolling shutter,
  hence two frames. Darkness while tampering is open stays tampering until the scene is
  seen again.
- *Lit*: ``covered`` when the view is veiled, its contrast (std / mean) under
  ``covered_contrast`` (a hand, cloth or paint on the lens; a dim room with a person in it
  keeps its contrast, dimming scales std and mean together); ``defocused`` when its
  sharpness (Laplacian energy over local variance, the frame's sensor noise taken out of
  both, so neither dimming nor noise changes it) falls under ``defocus_ratio`` of the
  learned one (a sprayed lens too); ``moved`` when a sharp, contrasted view has lost the
  learned scene's structure.

A condition holds for ``hold_s`` before it starts (``camera_tampered`` with its ``reason``, or
``lights_off``) and its absence for ``hold_s`` before it ends (``camera_tampered`` END; the
``lights_off`` END says the lights are back): one occurrence each, so lights off and on
within ``hold_s`` raise nothing (alternating-light.h264). The tampering reasons are one
occurrence (covered, then blackout as the room goes dark); a change from tampering to lights
off or back ends one and starts the other once it has held. Only normal frames are learned
from, never while an occurrence is open.

Limits: a lens covered with something dark faster than two analysed frames (about 0.4 s at
5 fps) is ``lights_off`` (info, on that camera alone); in a dark room a covered lens cannot
be told from the dark. Later options, not built: a per-camera "lights always on here"
setting (darkness there is tampering), and a node-level rule calling ``lights_off`` on one
camera while the others in its room stay lit tampering.

Times are camera time (:class:`edge.capture.session.CameraClock`), continuous across
reconnects, never session stream time (it restarts at 0 with every session). Only watched
time counts towards ``hold_s``: after a gap in the frames longer than ``max_gap_s`` (a
reconnect) a condition must hold for ``hold_s`` again before it starts or ends.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.analysis.observation import Observation
from edge.capture.frame import Image
from edge.core.ids import new_id
from edge.core.kinds import Kind, State

WIDTH = 160
CELLS = (8, 6)
"""The grid (columns, rows) on which a view closing over is judged."""
_LOCAL = (17, 17)
"""The neighbourhood of the local contrast normalisation (pixels of the small image)."""
_WEBER = 0.03
"""Contrast under this share of the local brightness is noise, not structure."""

_NOISE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
"""Immerkaer's mask: blind to edges and ramps, sees pixel noise."""
_NOISE_LAP = 0.40625
"""Laplacian energy of unit pixel noise after the 3x3 Gaussian."""
_NOISE_VAR = 0.0748
"""Variance of unit pixel noise after two 3x3 Gaussians."""

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class TamperSettings:
    """Thresholds (on a 160-px-wide grey image)."""

    hold_s: float = 5.0
    dark_mean: float = 16.0
    """Mean grey under which the view is dark."""
    covered_contrast: float = 0.05
    """std / mean under which a lit view is veiled (covered, sprayed)."""
    scene_min: float = 0.25
    """Structure from which the learned scene counts as seen."""
    defocus_ratio: float = 0.25
    evidence_frames: int = 2
    """Interfered lit frames in a row, just before darkness, that make it tampering."""
    dark_gain: float = 0.35
    """A cell darker than this, relative to the learned view, has gone dark..."""
    same_gain: float = 0.7
    """...and one within this factor of it is unchanged."""
    closed_part: float = 0.5
    """A view closing over: the dark part of its last lit frame, at least."""
    learn_frames: int = 10
    learn_rate: float = 0.02
    max_gap_s: float = 2.0
    """A longer gap between frames restarts the hold (the view was not watched)."""


@dataclass(frozen=True)
class Look:
    """The measures of one frame, before comparison with the learned view."""

    mean: float
    std: float
    sharp: float
    """Laplacian energy over local variance, sensor noise taken out of both: sharpness that
    neither dimming nor noise changes."""
    z: F32
    """The image normalised by local contrast (its structure)."""
    cells: F32
    """Mean grey per cell of :data:`CELLS`."""

    @property
    def contrast(self) -> float:
        """std / mean (0 for a black view)."""
        return self.std / self.mean if self.mean > 0.5 else 0.0


def small_grey(image: Image) -> U8:
    """The frame in grey, :data:`WIDTH` pixels wide."""
    h, w = image.shape[:2]
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    size = (WIDTH, max(1, round(h * WIDTH / w)))
    return np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8)


def look(small: U8) -> Look:
    """Mean, std, sharpness, structure and cells of a small grey image."""
    f = small.astype(np.float32)
    mean, std = cv2.meanStdDev(small)
    d3 = cv2.GaussianBlur(f, (3, 3), 0)  # sharpness: a little noise off
    d = cv2.GaussianBlur(d3, (3, 3), 0)  # structure: more noise off
    mu = cv2.blur(d, _LOCAL)
    var = cv2.blur(d * d, _LOCAL) - mu * mu
    inv = 1.0 / np.sqrt(np.maximum(var, np.maximum((_WEBER * mu) ** 2, 0.09)))
    lap = cv2.Laplacian(d3, cv2.CV_32F)
    # sensor noise (Immerkaer's estimate) adds Laplacian energy and variance: taken out, so
    # that a noisy dim room is as sharp as the lit one and a blurred noisy view is not
    h, w = f.shape
    noise = float(np.abs(cv2.filter2D(f, -1, _NOISE)[1:-1, 1:-1]).sum())
    noise *= float(np.sqrt(np.pi / 2)) / (6 * max(1, (w - 2) * (h - 2)))
    detail = max(0.0, float(np.mean(lap * lap)) - _NOISE_LAP * noise * noise)
    sharp = detail / max(float(np.mean(var)) - _NOISE_VAR * noise * noise, 1e-3)
    cells = cv2.resize(f, CELLS, interpolation=cv2.INTER_AREA)
    return Look(
        float(mean[0][0]),
        float(std[0][0]),
        sharp,
        np.asarray((d - mu) * inv, np.float32),
        np.asarray(cells, np.float32),
    )


def correlation(a: F32, b: F32) -> float:
    """Normalised correlation of two structure images (0 when either is flat)."""
    den = float(np.sqrt(float(np.vdot(a, a)) * float(np.vdot(b, b))))
    return float(np.vdot(a, b)) / den if den > 1e-6 else 0.0


class TamperWatch:
    """Per camera: learns what the view normally looks like, reports when it stops being
    seen (tampering) or when the room goes dark (lights off)."""

    def __init__(self, settings: TamperSettings | None = None) -> None:
        self.s = settings or TamperSettings()
        self._ref: F32 | None = None
        self._ref_cells: F32 | None = None
        self._ref_sharp = 0.0
        self._learned = 0
        self._prev: F32 | None = None
        self._interfered = 0
        """Lit frames in a row that were tampering (the scene lost, veiled, blurred)."""
        self._closing: list[float] = []
        """Dark part of each lit frame in a row in which something closed over the view."""
        self._dark_verdict: str | None = None
        """Whether the present darkness is lights off or blackout, judged on its way in."""
        self._candidate: Kind | None = None
        self._since = 0.0
        self._last_t: float | None = None
        self._active: tuple[Kind, str, str] | None = None  # (kind, reason, occurrence)

    @property
    def learned(self) -> bool:
        """Whether the normal view has been learned."""
        return self._learned >= self.s.learn_frames and self._ref is not None

    @property
    def settled(self) -> bool:
        """Whether nothing is under way: the view learned, no condition that may start or
        end, no evidence of interference gathering (:mod:`edge.analysis.tamperpace` then
        looks about once a second)."""
        active = self._active[0] if self._active is not None else None
        return (
            self.learned
            and self._candidate == active
            and self._interfered == 0
            and not self._closing
        )

    def structure(self, seen: Look) -> float | None:
        """How much of the learned scene (before learning: the previous frame) is seen."""
        ref = self._ref if self.learned else self._prev
        if ref is None or ref.shape != seen.z.shape:
            return None
        return correlation(seen.z, ref)

    def _closed(self, seen: Look) -> float:
        """Share of the view gone dark and structureless while some of the rest is as
        learned (something over the lens); 0 when that is not what the view shows."""
        s = self.s
        if self._ref is None or self._ref_cells is None or not self.learned:
            return 0.0
        if self._ref_cells.shape != seen.cells.shape or self._ref.shape != seen.z.shape:
            return 0.0
        gain = (seen.cells + 2.0) / (self._ref_cells + 2.0)
        dark = gain < s.dark_gain
        same = (gain > s.same_gain) & (gain < 1.0 / s.same_gain)
        if not dark.any() or not same.any():
            return 0.0
        z, ref = seen.z, self._ref
        parts = [cv2.resize(p, CELLS, interpolation=cv2.INTER_AREA) for p in (z * ref, z * z)]
        rr = cv2.resize(ref * ref, CELLS, interpolation=cv2.INTER_AREA)
        cell_corr = parts[0] / np.sqrt(np.maximum(parts[1] * rr, 1e-6))
        return float((dark & (cell_corr < s.scene_min)).mean())

    def _sharp_scene(self, seen: Look, structure: float | None) -> bool:
        """Whether the learned scene is seen, and sharp (not through paint)."""
        if structure is None or structure < self.s.scene_min:
            return False
        return self._ref_sharp <= 0 or seen.sharp >= self.s.defocus_ratio * self._ref_sharp

    def _lit(self, seen: Look, structure: float | None) -> str | None:
        """Tampering of a lit view, or None."""
        s = self.s
        if seen.contrast < s.covered_contrast:
            return "covered"
        if not self.learned:
            return None
        if self._ref_sharp > 0 and seen.sharp < s.defocus_ratio * self._ref_sharp:
            return "defocused"
        if structure is not None and structure < s.scene_min:
            return "moved"
        return None

    def _interference(self) -> bool:
        """Whether the lit frames just before the darkness show the view interfered with:
        tampering in enough of them, or something closing over it (growing, nearly shut)."""
        s = self.s
        closing = self._closing
        closed = (
            len(closing) >= s.evidence_frames
            and closing[-1] >= s.closed_part
            and all(a <= b + 0.05 for a, b in itertools.pairwise(closing))
        )
        return closed or self._interfered >= s.evidence_frames

    def classify(self, seen: Look, structure: float | None) -> tuple[Kind | None, str]:
        """The condition one frame shows, (kind, reason); kind None for a normal view. Keeps
        the evidence of lit frames for the darkness that may follow them."""
        s = self.s
        if seen.mean < s.dark_mean:
            if self._dark_verdict is None:  # the first dark frame: how did it get dark?
                self._dark_verdict = "blackout" if self._interference() else "lights_off"
            if self._active is not None and self._active[0] is Kind.CAMERA_TAMPERED:
                return Kind.CAMERA_TAMPERED, "blackout"  # no sight of the scene since
            if self._sharp_scene(seen, structure):
                return Kind.LIGHTS_OFF, "lights_off"  # the scene is there, in the dark
            if self._dark_verdict == "blackout":
                return Kind.CAMERA_TAMPERED, "blackout"
            return Kind.LIGHTS_OFF, "lights_off"
        reason = self._lit(seen, structure)
        closed = self._closed(seen)
        keep = s.evidence_frames + 1
        self._closing = [*self._closing, closed][-keep:] if closed > 0 else []
        self._interfered = self._interfered + 1 if reason else 0
        if reason is None and closed == 0:
            self._dark_verdict = None  # a normal view: the next darkness is judged anew
            return None, ""
        return (Kind.CAMERA_TAMPERED, reason) if reason else (None, "")

    def _learn(self, seen: Look, frames: int = 1) -> None:
        if self._ref is None or self._ref.shape != seen.z.shape:
            self._ref, self._ref_cells = seen.z.copy(), seen.cells.copy()
            self._ref_sharp, self._learned = seen.sharp, 1
            return
        s = self.s
        rate = 1.0 / (self._learned + 1) if self._learned < s.learn_frames else s.learn_rate
        if frames > 1 and self._learned >= s.learn_frames:
            rate = 1.0 - (1.0 - rate) ** frames  # as if each frame it stands for was learned
        self._ref += rate * (seen.z - self._ref)
        if self._ref_cells is not None:
            self._ref_cells += rate * (seen.cells - self._ref_cells)
        self._ref_sharp += rate * (seen.sharp - self._ref_sharp)
        self._learned += 1

    def update(self, image: Image, t: float, wall: float, frames: int = 1) -> list[Observation]:
        """Feed one analysed frame at camera time *t*; returns START/END observations.
        *frames*: how many analysed frames this one stands for (those not looked at since the
        last, see :mod:`edge.analysis.tamperpace`), for the pace of learning."""
        seen = look(small_grey(image))
        structure = self.structure(seen)
        kind, reason = self.classify(seen, structure)
        self._prev = seen.z
        if kind is None and self._active is None:
            self._learn(seen, frames)
        unwatched = self._last_t is not None and t - self._last_t > self.s.max_gap_s
        self._last_t = t
        if kind != self._candidate or unwatched:
            self._candidate, self._since = kind, t
        held = t - self._since >= self.s.hold_s
        out: list[Observation] = []
        if self._active is not None and kind != self._active[0] and held:
            was, why, occurrence = self._active
            end = self._seen(was, State.END, occurrence, wall=wall, t=t, reason=why, data={})
            out.append(end)
            self._active = None
        if self._active is None and kind is not None and held:
            self._active = (kind, reason, new_id())
            sharp = seen.sharp / self._ref_sharp if self._ref_sharp > 0 else 0.0
            data = {
                "mean": round(seen.mean, 1),
                "std": round(seen.std, 1),
                "structure": round(structure or 0.0, 2),
                "sharpness": round(sharp, 2),
            }
            occurrence = self._active[2]
            out.append(
                self._seen(kind, State.START, occurrence, wall=wall, t=t, reason=reason, data=data)
            )
        return out

    @staticmethod
    def _seen(
        kind: Kind,
        state: State,
        occurrence: str,
        *,
        wall: float,
        t: float,
        reason: str,
        data: dict[str, float],
    ) -> Observation:
        why: dict[str, object] = {"reason": reason} if kind is Kind.CAMERA_TAMPERED else {}
        return Observation(
            kind,
            state,
            occurrence,
            stream_time=t,
            wall=wall,
            data={**why, "stream_time": round(t, 3), **data},
        )
