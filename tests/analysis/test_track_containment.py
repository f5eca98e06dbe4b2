"""The tracker takes a box mostly inside a live track's box for a part of that person: it
never starts a second track (so never a second person event). The rule sits above the
matcher: every test runs with today's ``iou`` matcher and with ByteTrack."""

from __future__ import annotations

import pytest

from edge.analysis.detect.base import Detection
from edge.analysis.track import Change, Tracker
from edge.analysis.tracking import MatcherName

MATCHERS = pytest.mark.parametrize("matcher", ["iou", "bytetrack"])


def _person(i: int) -> Detection:
    """A person walking right, 15 px per update."""
    return Detection(100 + 15 * i, 50, 60, 160, 0.8)


def _legs(p: Detection, score: float = 0.5) -> Detection:
    """The lower half of *p*'s box, a little narrower: a partial detection of the same person."""
    return Detection(p.x + 5, p.y + 80, p.w - 10, 80, score)


@MATCHERS
def test_partial_box_beside_the_full_one_starts_no_second_person(matcher: MatcherName) -> None:
    """A tracked person walks across; for three updates the detector also gives a box of
    their legs (all of it inside the person's box). One track, one START, one END; the
    legs never become a track of their own."""
    tr = Tracker(confirm_hits=2, confirm_window_s=1.5, lost_after_s=2.5, matcher=matcher)
    events = []
    for i in range(12):
        dets = [_person(i)]
        if 4 <= i <= 6:
            dets.append(_legs(_person(i)))
        events += tr.update(dets, i * 0.2)
        assert len(tr.tracks) == 1, (i, tr.tracks)
    events += tr.finish(12 * 0.2)
    assert [e.change for e in events] == [Change.START, Change.END]
    assert events[0].track.hits == 12  # the legs were not counted as sightings


@MATCHERS
def test_partial_box_first_in_the_list_is_still_the_same_person(matcher: MatcherName) -> None:
    """The order of the detector's boxes does not matter: legs listed before the full box,
    and both seen in the very update the person first appears, make one track."""
    tr = Tracker(confirm_hits=1, matcher=matcher)
    p = _person(0)
    events = tr.update([_legs(p), p], 0.0)
    events += tr.update([_legs(_person(1)), _person(1)], 0.2)
    assert [e.change for e in events] == [Change.START]
    assert len(tr.tracks) == 1 and tr.tracks[0].box == _person(1)


@MATCHERS
def test_partial_box_alone_keeps_the_track_alive(matcher: MatcherName) -> None:
    """When only the partial box is found, it is that person's (the track has no better
    match): the track goes on, no new one starts."""
    tr = Tracker(confirm_hits=2, matcher=matcher)
    events = tr.update([_person(0)], 0.0) + tr.update([_person(1)], 0.2)
    events += tr.update([_legs(_person(2))], 0.4)
    assert [e.change for e in events] == [Change.START]
    assert len(tr.tracks) == 1 and tr.tracks[0].hits == 3


@MATCHERS
def test_partly_overlapping_people_are_still_two(matcher: MatcherName) -> None:
    """Two people side by side, boxes overlapping by less than the containment share (half
    of the second box inside the first): two tracks, two STARTs."""
    tr = Tracker(confirm_hits=1, matcher=matcher)
    a = Detection(100, 50, 60, 160, 0.9)
    b = Detection(130, 50, 60, 160, 0.9)  # half of b inside a, IoU 1/3
    events = tr.update([a], 0.0) + tr.update([a, b], 0.2)
    assert [e.change for e in events] == [Change.START, Change.START]
    assert len(tr.tracks) == 2


@MATCHERS
def test_containment_share_is_a_setting(matcher: MatcherName) -> None:
    """With contained_share above 1 the rule is off, and the legs start a track as before
    (sure legs: ByteTrack starts no identity on a box below its new-track score)."""
    tr = Tracker(confirm_hits=1, contained_share=1.01, matcher=matcher)
    legs = _legs(_person(1), 0.8)
    events = tr.update([_person(0)], 0.0) + tr.update([_person(1), legs], 0.2)
    assert [e.change for e in events] == [Change.START, Change.START]
