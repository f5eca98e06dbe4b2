"""A camera's Sharing, the one switch a privacy-mask fault turns off: after it, the camera's
events, snapshots and clips go nowhere (the fault being the last thing it sends)."""

from __future__ import annotations

import time
from fractions import Fraction

from edge.capture.frame import Packet, StreamInfo
from edge.clips.recorder import ClipJob
from edge.config.clips import ClipConfig
from edge.config.loader import loads
from edge.node.camera import Sharing
from edge.node.cameras import PlannedCamera, SharedRecorder


def test_blocked_camera_recorder_opens_and_hands_over_no_clip() -> None:
    """A camera's clip recorder: a clip held before the camera is blocked is withheld when
    it closes, and no clip opens afterwards (a door linked to the camera gets none); the same
    recorder unblocked hands its clip over."""
    cam = loads(
        '[node]\nid = "n"\nsite = "s"\n[[cameras]]\nname = "hall"\n'
        'detect = { kind = "file", path = "x.mp4" }\n'
    ).cameras[0]
    for block in (False, True):
        jobs: list[ClipJob] = []
        planned = PlannedCamera(cam, [], None)
        rec = SharedRecorder(planned, ClipConfig(), jobs.append)
        rec.feed(StreamInfo("hall", "h264", 64, 64, Fraction(1, 90000), 10.0, None, True))
        for n in range(30):
            rec.feed(
                Packet(
                    "hall",
                    b"\0\0\0\1\x65" if n % 10 == 0 else b"\0\0\0\1\x41",
                    n / 10,
                    None,
                    n % 10 == 0,
                    time.monotonic(),
                    time.time(),
                )
            )
        assert rec.hold("person-1", "ev-1") is not None
        if block:
            assert planned.sharing.block(lambda: None)
            assert rec.hold("door-1", "ev-2") is None
        rec.close()
        assert len(jobs) == (0 if block else 1)


def test_sharing_drops_everything_after_the_block() -> None:
    """What is sent through a camera's Sharing before the block goes out; the block's last
    word goes out once; nothing after it."""
    sent: list[str] = []
    sharing = Sharing()
    sharing.send(sent.append, "before")
    assert sharing.block(lambda: sent.append("fault"))
    assert not sharing.block(lambda: sent.append("second fault"))
    assert sharing.send(sent.append, "after") is None
    assert sent == ["before", "fault"]
