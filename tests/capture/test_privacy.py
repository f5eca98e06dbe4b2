"""Privacy at the source: masks are validated, applied to every frame before anything sees it,
fail closed, and a private camera is never opened."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import synth
from conftest import RtspServer
from nodecfg import file_camera, node_config

from edge.capture.base import CameraInput
from edge.capture.factory import build_input
from edge.capture.file import FileInput
from edge.capture.frame import Frame, Packet, Role, StreamInfo
from edge.capture.picamera import PiCameraInput
from edge.capture.privacy import (
    EDGE_PX,
    MaskSpec,
    PrivacyError,
    PrivacyFilter,
    polygon_problems,
)
from edge.capture.rtsp import RtspInput
from edge.cli.main import main
from edge.config.cameras import CameraConfig, PicameraSourceConfig
from edge.config.loader import loads
from edge.events.model import Event
from edge.fakes.picamera2 import fake_picamera2
from edge.node.node import Node
from edge.node.replay import wait_cameras

SQUARE = ((10.0, 10.0), (50.0, 10.0), (50.0, 50.0), (10.0, 50.0))


def _spec(*polys: tuple[tuple[float, float], ...], res: tuple[int, int] = (100, 100)) -> MaskSpec:
    return MaskSpec("cam", res, tuple((f"m{i}", p) for i, p in enumerate(polys)))


# -- geometry ---------------------------------------------------------------------------------


def test_polygon_faults_are_named() -> None:
    """Outside the frame, self-crossing and degenerate outlines are each reported."""
    assert polygon_problems(SQUARE, 100, 100) == []
    assert polygon_problems(((0, 0), (120, 0), (50, 50)), 100, 100) == [
        "points[1] = [120, 0] is outside the 100x100 frame"
    ]
    bowtie = ((10, 10), (50, 50), (50, 10), (10, 50))
    assert any("cross" in p for p in polygon_problems(bowtie, 100, 100))
    assert any("no area" in p for p in polygon_problems(((0, 0), (5, 5), (10, 10)), 100, 100))


def test_invalid_mask_refuses_to_build_a_filter() -> None:
    """A filter is never built from a bad mask: the error names camera and fault."""
    with pytest.raises(PrivacyError, match=r"camera 'cam': invalid privacy mask.*outside"):
        PrivacyFilter(_spec(((0, 0), (120, 0), (50, 50))))


def test_overlapping_masks_leave_no_hole() -> None:
    """Two overlapping polygons hide their union (no even-odd hole where they overlap)."""
    a = ((10.0, 10.0), (60.0, 10.0), (60.0, 60.0), (10.0, 60.0))
    b = ((40.0, 40.0), (90.0, 40.0), (90.0, 90.0), (40.0, 90.0))
    img = np.full((100, 100, 3), 200, np.uint8)
    PrivacyFilter(_spec(a, b)).apply(img)
    assert (img[45:55, 45:55] == 0).all()  # the overlap
    assert (img[10:61, 10:61] == 0).all() and (img[40:91, 40:91] == 0).all()
    assert (img[0 : 10 - EDGE_PX, :] == 200).all()  # the border grown round the outline


def test_scaled_mask_grows_never_shrinks() -> None:
    """Applied to a larger stream of the same shape, every pixel of the scaled polygon is
    hidden (rounding is absorbed by growing the mask by a pixel)."""
    spec = _spec(((10.5, 10.5), (33.3, 10.5), (33.3, 27.7), (10.5, 27.7)))
    img = np.full((300, 300, 3), 255, np.uint8)
    PrivacyFilter(spec).apply(img)
    assert (img[32:83, 32:100] == 0).all()


def test_other_stream_shape_fails_closed() -> None:
    """A 16:9 stream with a mask drawn for 4:3 raises; the frame is not returned."""
    f = PrivacyFilter(_spec(SQUARE, res=(640, 480)))
    with pytest.raises(PrivacyError, match="another shape"):
        f.apply(np.zeros((360, 640, 3), np.uint8))


def test_mask_digest_identifies_the_effective_mask() -> None:
    """Same hidden pixels, same hash; any change, another hash."""
    a = _spec(SQUARE).digest
    assert a == _spec(SQUARE).digest and len(a) == 64
    assert a != _spec(((10.0, 10.0), (51.0, 10.0), (51.0, 50.0), (10.0, 50.0))).digest
    assert a != _spec(SQUARE, res=(200, 200)).digest


# -- the planted pattern -----------------------------------------------------------------------


def _camera(path: Path, masked: bool = True, extra: str = "") -> CameraConfig:
    cfg = loads(f"""
[node]
id = "n"
site = "s"
[[cameras]]
name = "hall"
fps = 5
detect = {{ kind = "file", path = "{path}" }}
{synth.MASK_TOML if masked else ""}
{extra}
""")
    return cfg.cameras[0]


def _drain(inp: CameraInput, seconds: float | None = None) -> list[object]:
    if seconds is not None:
        threading.Timer(seconds, inp.close).start()
    return list(inp.stream())


def _assert_clean(items: list[object]) -> int:
    frames = [i for i in items if isinstance(i, Frame)]
    assert frames, "nothing to check"
    assert not any(isinstance(i, (Packet, StreamInfo)) for i in items), "packets passed"
    x0, y0, x1, y1 = synth.PRIVATE
    for f in frames:
        h, w = f.image.shape[:2]
        sx, sy = w / synth.W, h / synth.H
        region = f.image[int(y0 * sy) : int(y1 * sy), int(x0 * sx) : int(x1 * sx)]
        assert region.max() == 0, f"frame {f.seq}: private area not black"
        assert synth.match_score(f.image) < 0.5, f"frame {f.seq}: pattern visible"
    return len(frames)


@pytest.mark.parametrize("raw", [False, True], ids=["mp4", "raw-h264"])
def test_pattern_never_leaves_a_masked_file_input(tmp_path: Path, raw: bool) -> None:
    """Frames for both roles of a masked H.264 file: the pattern is in none, and no packet
    (which would carry the hidden pixels) is passed on. Unmasked, the same check finds it."""
    video = synth.write_video(tmp_path / ("s.h264" if raw else "s.mp4"), raw=raw)
    unmasked = build_input(_camera(video, masked=False), _camera(video).detect, Role.DETECT)
    frames = [i for i in unmasked.stream() if isinstance(i, Frame)]
    assert synth.match_score(frames[3].image) > 0.9  # the check can see it
    cam = _camera(video)
    items = _drain(build_input(cam, cam.detect, Role.DETECT | Role.RECORD))
    record = [i for i in items if isinstance(i, Frame) and Role.RECORD in i.roles]
    assert len(record) == 40  # the record role gets every frame, masked, to re-encode
    assert _assert_clean(items) == 40


def test_pattern_never_leaves_the_fake_picamera(tmp_path: Path) -> None:
    """The picamera2 adapter with a mask: no encoder is started, lores and main frames are
    masked."""
    video = synth.write_video(tmp_path / "s.mp4")
    module = fake_picamera2(video)
    cfg = PicameraSourceConfig(
        kind="picamera", width=640, height=360, lores_width=320, lores_height=180, fps=20
    )
    inp = PiCameraInput(
        "hall",
        cfg,
        roles=Role.DETECT | Role.RECORD,
        analysis_fps=5,
        mask=MaskSpec.from_config(_camera(video)),
        module=module,
    )
    items = _drain(inp, 1.5)
    assert any(isinstance(i, Frame) and i.image.shape[1] == 320 for i in items)
    assert any(isinstance(i, Frame) and i.image.shape[1] == 640 for i in items)
    _assert_clean(items)


def test_pattern_never_leaves_a_masked_rtsp_input(
    tmp_path: Path, rtsp_server: Callable[[Path], RtspServer]
) -> None:
    """The same over a real RTSP stream."""
    video = synth.write_video(tmp_path / "s.mp4", frames=80)
    url = rtsp_server(video).url
    inp = RtspInput(
        "hall",
        url,
        roles=Role.DETECT | Role.RECORD,
        analysis_fps=5,
        mask=MaskSpec.from_config(_camera(video)),
    )
    _assert_clean(_drain(inp, 2.0))


def test_snapshot_shows_no_pattern(tmp_path: Path) -> None:
    """`edge snapshot` (plain and with the overlay) writes frames without the pattern."""
    video = synth.write_video(tmp_path / "s.mp4")
    cfg = tmp_path / "node.toml"
    cfg.write_text(f"""
[node]
id = "n"
site = "s"
[[cameras]]
name = "hall"
detect = {{ kind = "file", path = "{video}" }}
{synth.MASK_TOML}
""")
    for flag, out in (("--output", tmp_path / "a.png"), ("--overlay", tmp_path / "b.png")):
        assert main(["snapshot", "-c", str(cfg), "--camera", "hall", flag, str(out)]) == 0
        img = np.asarray(cv2.imread(str(out)), dtype=np.uint8)
        assert img.shape == (synth.H, synth.W, 3)
        assert synth.match_score(img) < 0.5
    overlay = np.asarray(cv2.imread(str(tmp_path / "b.png")), dtype=np.uint8)
    assert (overlay[:, :, 2] > 200).sum() > 500  # the mask is drawn in red


# -- fail closed -------------------------------------------------------------------------------


def _node_config(tmp_path: Path, video: Path, cameras: str) -> str:
    return node_config(
        tmp_path / "data", "n", cameras=[file_camera("public", video, fps=5), cameras]
    )


@pytest.mark.parametrize(
    "mask",
    [
        # a corner outside the 640x360 frame the mask claims
        "privacy_masks = [{ name = 'office', points = [[600, 10], [700, 10], [650, 90]] }]\n"
        "resolution = [640, 360]",
        # drawn for a 4:3 stream, but the stream is 16:9
        "privacy_masks = [{ name = 'office', points = [[10, 10], [90, 10], [50, 90]] }]\n"
        "resolution = [640, 480]",
    ],
    ids=["outside-frame", "wrong-resolution"],
)
def test_bad_mask_camera_shares_nothing_others_carry_on(tmp_path: Path, mask: str) -> None:
    """A camera whose mask cannot be applied analyses no frame and raises camera_fault
    (reason privacy_mask); the other camera works normally."""
    video = synth.write_video(tmp_path / "s.mp4")
    cams = f"""[[cameras]]
name = "guarded"
fps = 5
detect = {{ kind = "file", path = "{video}" }}
{mask}
"""
    node = Node(loads(_node_config(tmp_path, video, cams)))
    seen: list[Frame] = []
    for worker in node.cameras:
        if worker.cfg.name == "guarded":
            worker.on_frame = seen.append
    events: list[Event] = []
    node.sink.subscribe(events.append)
    node.start()
    try:
        assert wait_cameras(node, 30)
    finally:
        node.stop()
    assert seen == []
    faults = [e for e in events if e.kind == "camera_fault" and e.camera == "guarded"]
    assert len(faults) == 1 and faults[0].data["reason"] == "privacy_mask"
    public = [w for w in node.cameras if w.cfg.name == "public"]
    assert public and public[0].frames_analysed >= 19


def test_check_config_rejects_a_bad_mask(tmp_path: Path) -> None:
    """check-config names the camera, the mask and the corner that is outside."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        _node_config(
            tmp_path,
            tmp_path / "v.mp4",
            """[[cameras]]
name = "guarded"
detect = { kind = "file", path = "v.mp4" }
privacy_masks = [{ name = "office", points = [[600, 10], [700, 10], [650, 90]] }]
resolution = [640, 360]
""",
        )
    )
    assert main(["check-config", str(cfg)]) == 2


def test_private_camera_is_never_opened(tmp_path: Path) -> None:
    """A camera marked private = true is never opened: its input, a FIFO, never gets a
    reader, while the node runs its other camera."""
    video = synth.write_video(tmp_path / "s.mp4")
    fifo = tmp_path / "office.fifo"
    os.mkfifo(fifo)
    cams = f"""[[cameras]]
name = "office"
private = true
detect = {{ kind = "file", path = "{fifo}" }}
"""
    node = Node(loads(_node_config(tmp_path, video, cams)))
    assert [w.cfg.name for w in node.cameras] == ["public"]
    node.start()
    try:
        assert wait_cameras(node, 30)
        time.sleep(0.2)
        with pytest.raises(OSError) as info:  # no reader has the FIFO open
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        assert info.value.errno == errno.ENXIO
    finally:
        node.stop()
    cam = loads(_node_config(tmp_path, video, cams)).cameras[1]
    with pytest.raises(PermissionError, match="private"):
        build_input(cam, cam.detect, Role.DETECT)
    assert (
        main(
            [
                "snapshot",
                "-c",
                str(_write(tmp_path, _node_config(tmp_path, video, cams))),
                "--camera",
                "office",
                "--output",
                str(tmp_path / "x.png"),
            ]
        )
        == 1
    )


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "node.toml"
    p.write_text(text)
    return p


def test_masked_file_input_is_built_with_its_mask(tmp_path: Path) -> None:
    """The factory gives a masked camera's input its mask (nothing unmasked by mistake)."""
    video = synth.write_video(tmp_path / "s.mp4")
    inp = build_input(_camera(video), _camera(video).detect, Role.DETECT)
    assert isinstance(inp, FileInput) and inp.mask is not None
