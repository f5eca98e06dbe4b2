"""Detections -> person tracks with a lifecycle, so one person makes one event.

Which detection continues which track is a *matcher*'s answer (:mod:`edge.analysis.tracking`,
the camera's ``tracker`` setting): ``iou``, greedy matching by overlap falling back to the
nearest centre within a box's size, or ``bytetrack``, ByteTrack from the supervision package
(Kalman motion, low-score boxes for occlusions). The rules here are the same for both.
A box its matcher gives no live track (a new identity) continues the one track whose box
centre is within a box side of it, when no other track that took no box in this run is that
near: a person walking fast between detector runs (the node runs it every 0.2-1 s, and
ByteTrack's motion model loses someone who moved most of a box width). A track that took a
box has its person; near two free tracks or more (a crowd) the matcher's answer stands.
A track is *confirmed* after ``confirm_hits`` detections within ``confirm_window_s`` and ends
when not seen for ``lost_after_s``.

A box its matcher would start nobody with (:data:`edge.analysis.tracking.PART`: ByteTrack's
low-score box) starts a track only when no track is live: a first sighting alone in view,
which the next run confirms with a box the matcher does start an identity for (through the
near rule) instead of starting afresh then (which cost one more detector run per such
arrival); beside a live track it may be a part of that person, so it starts nothing.

A box mostly inside a live track's box (at least ``contained_share`` of its area, 0.7 by
default) never starts a track: it is taken for a part of that person (a partial detection of
legs or a torso beside the full box), matched to the track when the track has no better match
in the update, otherwise dropped. Boxes left for new tracks are taken largest first, so a
partial box inside a person first seen in the same update is dropped too. The price: a second
person standing almost wholly inside another's box (in front of them, smaller) is not tracked
until they step out of it.

Times are camera time (:class:`edge.capture.session.CameraClock`), continuous across
reconnects, never session stream time (it restarts at 0 with every session): after an outage
longer than ``lost_after_s`` every track of before it ends (END) at the first update, before
the new detections are matched, so nobody is carried over a time nobody watched. A camera
known to be lost does not wait for that update: :meth:`Tracker.finish` ends its tracks at its
last frame, the time it was lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from edge.analysis.detect.base import Detection
from edge.analysis.tracking import PART, Matcher, MatcherName, make_matcher
from edge.analysis.tracking.iou import centre_near
from edge.core.ids import new_id


class Change(StrEnum):
    """What happened to a track in one update."""

    START = "start"
    ZONES = "zones"
    END = "end"


@dataclass
class Track:
    """One person being followed."""

    id: str
    box: Detection
    first_t: float
    last_t: float
    hits: int = 1
    confirmed: bool = False
    max_score: float = 0.0
    zones: tuple[str, ...] = ()
    zones_seen: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class TrackEvent:
    """A change of one track."""

    change: Change
    track: Track
    t: float


def _inside(a: Detection, b: Detection) -> float:
    """Share of *a*'s area that lies inside *b* (intersection over the area of *a*)."""
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return ix * iy / a.area if a.area > 0 else 0.0


class Tracker:
    """Keeps person tracks from one camera's detections."""

    def __init__(
        self,
        *,
        confirm_hits: int = 2,
        confirm_window_s: float = 1.5,
        lost_after_s: float = 2.5,
        min_iou: float = 0.2,
        contained_share: float = 0.7,
        matcher: MatcherName | Matcher = "iou",
    ) -> None:
        self.confirm_hits = confirm_hits
        self.confirm_window_s = confirm_window_s
        self.lost_after_s = lost_after_s
        self.min_iou = min_iou
        self.contained_share = contained_share
        self.matcher = (
            make_matcher(matcher, min_iou=min_iou) if isinstance(matcher, str) else matcher
        )
        self.tracks: list[Track] = []

    @property
    def tracking(self) -> bool:
        """True while any confirmed track is alive."""
        return any(t.confirmed for t in self.tracks)

    def update(
        self,
        dets: list[Detection] | None,
        t: float,
        zones_of: dict[int, tuple[str, ...]] | None = None,
    ) -> list[TrackEvent]:
        """Feed the detections of a detector run at camera time *t* (None: the detector did
        not run, only time passes). *zones_of* maps a detection's index to the zones it stands
        in. Tracks not seen for too long end first: a detection never revives one."""
        out: list[TrackEvent] = []
        for tr in list(self.tracks):
            if t - tr.last_t > (self.lost_after_s if tr.confirmed else self.confirm_window_s):
                self.tracks.remove(tr)
                self.matcher.forget(tr.id)
                if tr.confirmed:
                    out.append(TrackEvent(Change.END, tr, t))
        if dets is not None:
            out += self._match(dets, t, zones_of or {})
        else:
            self.matcher.idle(t)
        return out

    def finish(self, t: float) -> list[TrackEvent]:
        """End every confirmed track at *t* (end of stream, or the camera lost at *t*);
        tracks not yet confirmed are dropped."""
        out = [TrackEvent(Change.END, tr, t) for tr in self.tracks if tr.confirmed]
        self.tracks.clear()
        self.matcher.reset()
        return out

    def _match(
        self, dets: list[Detection], t: float, zones_of: dict[int, tuple[str, ...]]
    ) -> list[TrackEvent]:
        by_id = {tr.id: tr for tr in self.tracks}
        answer = self.matcher.assign(dets, {tr.id: tr.box for tr in self.tracks}, t)
        used_t: set[int] = set()
        fresh: list[int] = []
        out: list[TrackEvent] = []
        parts: set[int] = set()
        for i, tid in answer.items():
            tr = by_id.get(tid) if tid else None
            if tr is None or id(tr) in used_t:  # a second box for one track: maybe a part
                fresh.append(i)
                if tid == PART:
                    parts.add(i)
                continue
            used_t.add(id(tr))
            out += self._hit(tr, dets[i], t, zones_of.get(i, ()))
        for i in sorted(fresh, key=lambda i: -dets[i].area):
            d = dets[i]
            near = [
                tr for tr in self.tracks if id(tr) not in used_t and centre_near(d, tr.box) < 1.0
            ]
            if len(near) == 1 and i not in parts:
                # the one track near, which its matcher lost this run (a fast walker between
                # detector runs): that person's. Near several (a crowd): the matcher's answer
                tr = near[0]
                used_t.add(id(tr))
                self.matcher.bind(i, tr.id)
                out += self._hit(tr, d, t, zones_of.get(i, ()))
                continue
            holders = sorted(
                ((_inside(d, tr.box), d.iou(tr.box), j) for j, tr in enumerate(self.tracks)),
                reverse=True,
            )
            holders = [h for h in holders if h[0] >= self.contained_share]
            if holders:  # a part of a person being tracked: that track's, or nobody's
                free = [self.tracks[j] for _, _, j in holders if id(self.tracks[j]) not in used_t]
                if free:
                    used_t.add(id(free[0]))
                    self.matcher.bind(i, free[0].id)
                    out += self._hit(free[0], d, t, zones_of.get(i, ()))
                continue
            if i in parts and self.tracks:  # its matcher would start nobody with it
                continue
            tr = Track(new_id(), d, t, t, max_score=d.score)
            self.tracks.append(tr)
            used_t.add(id(tr))
            self.matcher.bind(i, tr.id)
            out += self._hit(tr, d, t, zones_of.get(i, ()), new=True)
        return out

    def _hit(
        self, tr: Track, d: Detection, t: float, zones: tuple[str, ...], new: bool = False
    ) -> list[TrackEvent]:
        if not new:
            tr.hits += 1
        tr.box, tr.last_t = d, t
        tr.max_score = max(tr.max_score, d.score)
        changed = zones != tr.zones
        tr.zones = zones
        tr.zones_seen.update(zones)
        if not tr.confirmed:
            if t - tr.first_t > self.confirm_window_s:  # too slow to confirm: start over
                tr.first_t, tr.hits = t, 1
            if tr.hits >= self.confirm_hits and t - tr.first_t <= self.confirm_window_s:
                tr.confirmed = True
                return [TrackEvent(Change.START, tr, t)]
            return []
        return [TrackEvent(Change.ZONES, tr, t)] if changed else []
