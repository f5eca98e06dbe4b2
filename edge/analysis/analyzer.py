"""What one camera's analysis thread does with each frame: motion gate, detector when worth
it, tracker, zones -> observations. Plain and single-threaded, so the daemon, ``edge bench vision``
and the tests run exactly the same code.

The one difference is the live path (``asynchronous``, set by a live camera whose detector is
the node's shared queue). There the detector is asked and not waited for: the next frames go
through the gate, the tamper watch and the tracker (time passing) while the answer comes.
The answer is applied at the time of the frame it was asked about, with that frame's motion,
crop and picture. One request is out per camera; the next due frame asks only after the
answer. So a person on every camera at once makes answers come later, and no frame is
dropped. A replay, and any other detector, waits for each answer, so a file gives the same
events every time.

Per frame: the gate (:mod:`edge.analysis.motion.background`, thresholds relative to the light
and the noise) -> the low-light stage (:mod:`edge.analysis.lowlight`: in the dark, what the
detector is shown) -> the schedule (:mod:`edge.analysis.schedule`), told whether the motion
is news by the region memory (:mod:`edge.analysis.regions`: where runs keep finding nobody)
and whether a sighting awaits confirmation -> the detector -> box filters -> the region memory
learns what the run found -> tracker -> zones -> the static-object rule
(:mod:`edge.analysis.stillness`: a track that never moved, where nothing moved before it was
seen, makes no event until it moves; fed with the motion regions of every frame).

Time: stream time (``Frame.pts``) restarts at 0 with every session of the input (each
reconnect). Everything here that keeps time between frames (the detector schedule, the
tracker, motion episodes, tampering) runs on *camera time* instead, from a
:class:`edge.capture.session.CameraClock`: continuous across sessions, never decreasing, a
reconnect's outage counted as the real time it lasted. So after a reconnect the schedule goes
on, a track not seen for ``lost_after_s`` (the outage included) ends with its END, an episode
ends as usual, and a tamper condition must be watched for ``hold_s`` again (after a gap of
several frames). A camera known to be lost (its worker calls :meth:`Analyzer.lost`) does
not wait for the next frame: its tracks and episode end at its last frame, when it was lost.
The clock is per analyzer, i.e. per camera's detect input. Observations leave in stream time
of the frame's session (``stream_time``, ``session``), as events report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from edge.analysis.detect.base import Detection, Detector
from edge.analysis.detect.filters import BoxFilter
from edge.analysis.detect.queue import ANSWER_S, Ticket
from edge.analysis.episodes import MotionEpisodes
from edge.analysis.lowlight import LowLight
from edge.analysis.motion.background import BackgroundMotion
from edge.analysis.motion.base import Box, MotionGate, MotionResult
from edge.analysis.observation import Observation, Still
from edge.analysis.regions import RegionMemory
from edge.analysis.schedule import DetectionSchedule, Why
from edge.analysis.steady import steady
from edge.analysis.stillness import HELD, Stillness, StillnessSettings
from edge.analysis.tamper import TamperSettings, TamperWatch
from edge.analysis.tamperpace import TamperPace
from edge.analysis.track import Change, Tracker, TrackEvent
from edge.analysis.zones import Zones
from edge.capture.frame import Frame, Image
from edge.capture.session import CameraClock
from edge.config.cameras import CameraConfig
from edge.core.errors import DetectorError
from edge.core.kinds import Kind, State
from edge.core.logs import get_logger

log = get_logger(__name__)

LOST = "camera_lost"
"""``data.reason`` of what ended because its camera was lost (:meth:`Analyzer.lost`)."""

DARK_WEIGHT = 1 / 3
"""What a detector run on the low-light picture that finds nobody counts in the region memory."""


@dataclass
class AnalysisStats:
    """Where the analysis time goes."""

    frames: int = 0
    motion_frames: int = 0
    detector_calls: int = 0
    detections: int = 0
    known_skips: int = 0
    """Frames with motion only where the detector keeps finding nobody, not looked at."""
    dark_frames: int = 0
    """Frames the detector saw through the low-light picture."""
    tamper_frames: int = 0
    """Frames the tamper watch looked at (about one a second while the view is settled)."""
    behind_frames: int = 0
    """Frames analysed while behind real time (the detector shed its follow-up runs)."""
    motion_s: float = 0.0
    tamper_s: float = 0.0
    detector_s: float = 0.0
    last_detector_ms: float = 0.0
    """The last run's time from asked to answered (the live path: its wait in the queue)."""
    detector_errors: int = 0
    """Live-path requests the detector failed or did not answer (logged, dropped)."""


def crop_around(
    regions: tuple[Box, ...], width: int, height: int, margin: float = 0.5, min_side: int = 256
) -> tuple[int, int, int, int]:
    """A crop (x, y, w, h) holding every motion region with a margin, at least *min_side*."""
    x0 = min(r[0] for r in regions)
    y0 = min(r[1] for r in regions)
    x1 = max(r[0] + r[2] for r in regions)
    y1 = max(r[1] + r[3] for r in regions)
    w, h = x1 - x0, y1 - y0
    side_w = max(int(w * (1 + margin)), min(min_side, width))
    side_h = max(int(h * (1 + margin)), min(min_side, height))
    cx, cy = x0 + w // 2, y0 + h // 2
    x = min(max(0, cx - side_w // 2), max(0, width - side_w))
    y = min(max(0, cy - side_h // 2), max(0, height - side_h))
    return x, y, min(side_w, width), min(side_h, height)


@dataclass(frozen=True)
class Request:
    """A frame the detector is asked about, and what its answer is applied with."""

    frame: Frame
    motion: MotionResult
    t: float
    """Camera time of *frame*."""
    picture: Image
    """What the detector is shown (low-light picture, maybe cropped)."""
    crop: Box | None
    dark: bool
    asked: float
    """The analyzer's clock when asked."""


class Analyzer:
    """Turns one camera's frames into motion, person and tampering observations."""

    def __init__(
        self,
        cam: CameraConfig,
        *,
        detector: Detector | None = None,
        gate: MotionGate | None = None,
        clock: Callable[[], float] = time.perf_counter,
        tamper: TamperSettings | None = None,
    ) -> None:
        self.cam = cam
        self.detector = detector if cam.detection.enabled else None
        self.gate = gate or BackgroundMotion(cam.motion, resolution=cam.resolution)
        self.episodes = MotionEpisodes(cam.motion.end_after_s)
        d = cam.detection
        self.schedule = DetectionSchedule(d)
        self.memory = RegionMemory(known_after=d.known_after, half_life_s=d.known_half_life_s)
        self.lowlight = LowLight(d.low_light_below)
        self.filter = BoxFilter(d)
        self.tracker = Tracker(
            confirm_hits=d.confirm_hits,
            confirm_window_s=d.confirm_window_s,
            lost_after_s=d.lost_after_s,
            matcher=d.tracker,
        )
        self.stillness = Stillness(
            StillnessSettings(d.static_hold, d.static_quiet_s, d.static_share, d.static_move)
        )
        self.zones = Zones(cam.zones, cam.resolution)
        self.stats = AnalysisStats()
        # a gap of several frames is not watched time (slow cameras have long ones)
        self.tamper = TamperWatch(tamper or TamperSettings(max_gap_s=max(2.0, 3.0 / cam.fps)))
        self.tamper_pace = TamperPace()
        self.last_motion: MotionResult | None = None
        self.last_detections: list[Detection] = []
        self.asynchronous = False
        """Set by a live camera whose detector is the node's shared queue: the detector is
        asked and not waited for (see :meth:`_answered`). A replay waits for every answer,
        so a file gives the same events every time."""
        self._asked: tuple[Request, Ticket] | None = None
        self.behind = False
        """Set by the camera before each frame: its analysis is behind real time, so the
        detector sheds its follow-up runs (:class:`edge.analysis.schedule.DetectionSchedule`)."""
        self.time = CameraClock()
        """Camera time: what every stateful stage here keys on (see the module)."""
        self._clock = clock

    def process(self, frame: Frame) -> list[Observation]:
        """Analyse one frame; returns what it shows that changed."""
        self.stats.frames += 1
        self.stats.behind_frames += self.behind
        t0 = self._clock()
        motion = self.gate.process(frame.image)
        self.stats.motion_s += self._clock() - t0
        self.last_motion = motion
        self.stats.motion_frames += motion.motion
        t = self.time.at(frame.session, frame.pts, frame.mono)
        seen = self.episodes.update(motion, t, frame.wall)
        looks = self.tamper_pace.due(t, motion, settled=self.tamper.settled)
        if looks:
            t1 = self._clock()
            seen += self.tamper.update(frame.image, t, frame.wall, looks)
            self.stats.tamper_s += self._clock() - t1
            self.stats.tamper_frames += 1
        if self.detector is not None:
            seen += self._detection(frame, motion, t)
        return [self._in_session(o, frame) for o in seen]

    def _detection(self, frame: Frame, motion: MotionResult, t: float) -> list[Observation]:
        """The detector's part of a frame: an answer that came meanwhile applied (the live
        path), the schedule asked, the detector run or asked, the tracker stepped."""
        seen = self._answered(wait=False)
        h, w = frame.image.shape[:2]
        self.lowlight.update(frame.image, t, motion.brightness, motion.lighting)
        moving = motion.motion and not motion.lighting
        if moving:
            self.stillness.motion(motion.regions, t, w, h, self.tracker.tracks)
        novel = not moving or self.memory.novel(motion.regions, t, w, h)
        pending = any(not tr.confirmed for tr in self.tracker.tracks)
        # a static object held back is nobody tracked: it does not keep the detector busy
        tracking = self.stillness.tracking(self.tracker.tracks)
        calm = (
            tracking
            and moving
            and not pending
            and steady(self.tracker.tracks, motion.regions, self.schedule.last)
        )
        dets: list[Detection] | None = None
        # the live path asks once at a time: the next frame due comes after the answer
        due = self._asked is None and self.schedule.due(
            motion, t, tracking, pending=pending, novel=novel, steady=calm, behind=self.behind
        )
        if due and self.asynchronous:
            self._ask(frame, motion, t)
        elif due:
            req = self._request(frame, motion, t)
            assert self.detector is not None
            dets = self._found(req, self.detector.detect(req.picture), self._clock() - req.asked)
        elif moving and not novel and not tracking:
            self.stats.known_skips += 1
        return seen + self._step(dets, t, frame)

    def _step(self, dets: list[Detection] | None, t: float, frame: Frame) -> list[Observation]:
        """The tracker fed with *dets* of *frame* at camera time *t* (None: time passes)."""
        h, w = frame.image.shape[:2]
        zones_of = {}
        if dets and self.zones:
            zones_of = {i: self.zones.at(*d.foot, w, h) for i, d in enumerate(dets)}
        events = self._still(self.tracker.update(dets, t, zones_of), t, w, h)
        return [self._person(te, frame) for te in events]

    def _ask(self, frame: Frame, motion: MotionResult, t: float) -> None:
        """The live path: the detector asked for *frame*, not waited for."""
        req = self._request(frame, motion, t)
        submit = getattr(self.detector, "submit")  # noqa: B009 - checked by asynchronous
        self._asked = (req, submit(req.picture))

    def _answered(self, *, wait: bool) -> list[Observation]:
        """The live path: the answer to the request asked, once it came (*wait*: wait for
        it, as before the camera's tracks end), applied at its own frame's time; what it
        shows. A failed request, or one unanswered for the queue's ``answer_s``, is logged
        and dropped: the next frame due asks again."""
        if self._asked is None:
            return []
        req, ticket = self._asked
        limit = float(getattr(self.detector, "answer_s", ANSWER_S))
        waited = self._clock() - req.asked
        if not ticket.done.is_set():
            if wait:
                ticket.done.wait(max(0.0, limit - waited))
            elif waited < limit:
                return []
        self._asked = None
        try:
            raw = ticket.result(0)
        except DetectorError as e:
            self.stats.detector_errors += 1
            log.warning("detector.request_failed", camera=self.cam.name, error=str(e))
            return []
        dets = self._found(req, raw, self._clock() - req.asked)
        return self._step(dets, req.t, req.frame)

    def finish(self, frame: Frame | None) -> list[Observation]:
        """Close open motion episodes and person tracks (end of stream); an answer still
        awaited is waited for and applied first."""
        if frame is None:
            return []
        answered = [self._in_session(o, frame) for o in self._answered(wait=True)]
        t = self.time.at(frame.session, frame.pts, frame.mono)
        seen = []
        if self.episodes.active:
            seen.append(self.episodes.finish(frame.wall, t))
        h, w = frame.image.shape[:2]
        seen += [self._person(te, frame) for te in self._still(self.tracker.finish(t), t, w, h)]
        return answered + [self._in_session(o, frame) for o in seen]

    def _still(self, events: list[TrackEvent], t: float, w: int, h: int) -> list[TrackEvent]:
        """The tracker's *events* through the static-object rule (held tracks make none; a
        held track that moved starts now), the holds and releases logged."""
        before = set(self.stillness.why)
        out = self.stillness.filter(events, self.tracker.tracks, t, w, h)
        for tid in set(self.stillness.why) - before:
            log.debug("person.held", camera=self.cam.name, track=tid, reason=HELD)
        for te in out:
            if te.change is Change.START and te.track.id in before:
                log.info("person.released", camera=self.cam.name, track=te.track.id)
        return out

    def lost(self, frame: Frame | None) -> list[Observation]:
        """The camera was lost (disconnected, faulted) after *frame*, the last one seen: what
        is open (person tracks, a motion episode) ends at that frame, not at the first frame
        after a reconnect, with ``data.reason = "camera_lost"``. Nothing is carried over the
        outage: after it everything starts afresh, with a full look at the first frame."""
        self.schedule.look_next()  # whatever came meanwhile is looked for at once
        came: list[Observation] = []
        if frame is not None:  # an answer still awaited is of a frame before the loss
            came = [self._in_session(o, frame) for o in self._answered(wait=True)]
        ended = came + [replace(o, data={**o.data, "reason": LOST}) for o in self.finish(frame)]
        self.stillness.outage()  # and what stands still then may have come meanwhile
        return ended

    def _in_session(self, seen: Observation, frame: Frame) -> Observation:
        """*seen* (stated in camera time) in the stream time of *frame*'s session."""
        data = dict(seen.data)
        if "stream_time" in data:
            data["stream_time"] = round(self.time.stream_time(float(data["stream_time"])), 3)
        return replace(
            seen,
            stream_time=self.time.stream_time(seen.stream_time),
            data=data,
            session=frame.session,
        )

    def _request(self, frame: Frame, motion: MotionResult, t: float) -> Request:
        """What the detector is shown of *frame*: the low-light picture, cropped around the
        motion when so configured (never for a periodic full look)."""
        assert self.detector is not None
        h, w = frame.image.shape[:2]
        asked = self._clock()
        dark = self.lowlight.dark
        picture = self.lowlight.picture(frame.image)
        self.stats.dark_frames += dark
        crop: Box | None = None
        full = self.schedule.why in (Why.BUSY, Why.IDLE)
        if self.cam.detection.region == "motion" and motion.regions and not full:
            # at least the model's input size: a small, far person is seen at full resolution
            side = int(getattr(self.detector, "size", 256))
            crop = x, y, cw, ch = crop_around(motion.regions, w, h, min_side=side)
            picture = picture[y : y + ch, x : x + cw]
        return Request(frame, motion, t, picture, crop, dark, asked)

    def _found(self, req: Request, found: list[Detection], spent: float) -> list[Detection]:
        """The detector's boxes for *req* (found *spent* s after it was asked) filtered;
        the region memory taught what the run found."""
        raw = found if req.crop is None else [d.shifted(req.crop[0], req.crop[1]) for d in found]
        h, w = req.frame.image.shape[:2]
        self.stats.detector_s += spent
        self.stats.last_detector_ms = spent * 1000
        self.stats.detector_calls += 1
        dets = self.filter(raw, w, h, req.dark)
        self.stats.detections += len(dets)
        self.last_detections = dets
        motion = req.motion
        moved = motion.regions if motion.motion and not motion.lighting else ()
        # in the dark the detector misses more (a person walking in is often found only
        # after a second or two): its "nobody" counts a third
        weight = DARK_WEIGHT if req.dark else 1.0
        self.memory.learn(moved, dets, req.t, w, h, seen=req.crop, weight=weight)
        return dets

    def _person(self, te: TrackEvent, frame: Frame) -> Observation:
        tr = te.track
        state = {Change.START: State.START, Change.ZONES: State.UPDATE, Change.END: State.END}
        b = tr.box
        data: dict[str, object] = {
            "stream_time": round(tr.first_t if te.change is Change.START else te.t, 3),
            "score": round(tr.max_score, 3),
            "box": [round(b.x), round(b.y), round(b.w), round(b.h)],
        }
        if te.change is Change.END:
            data["seconds"] = round(tr.last_t - tr.first_t, 3)
            data["detections"] = tr.hits
        zones = tuple(sorted(tr.zones_seen)) if te.change is Change.END else tr.zones
        still = None
        if te.change is Change.START:
            h, w = frame.image.shape[:2]
            outlines = tuple(self.zones.polygons(w, h)) if self.zones else ()
            still = Still(frame.image, tuple(self.last_detections), outlines)
        return Observation(
            Kind.PERSON,
            state[te.change],
            tr.id,
            stream_time=te.t,
            wall=frame.wall,
            zones=zones,
            data=data,
            still=still,
        )
