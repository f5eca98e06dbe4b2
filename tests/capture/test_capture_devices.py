"""Inputs for hardware this machine lacks: what can be checked here is checked (the Jetson
pipeline that is built, V4L2 options, clear errors when the device or library is absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.capture.base import SourceError
from edge.capture.frame import Frame, Role
from edge.capture.jetson import JetsonInput, build_pipeline, opencv_has_gstreamer
from edge.capture.picamera import PiCameraInput, load_picamera2
from edge.capture.v4l2 import V4l2Input
from edge.cli.main import main
from edge.config.cameras import JetsonSourceConfig, PicameraSourceConfig, V4l2SourceConfig


def test_jetson_pipeline_from_config() -> None:
    """nvarguscamerasrc with the sensor mode, NVMM NV12, nvvidconv scaling and flip, BGR into
    an appsink that drops stale frames."""
    cfg = JetsonSourceConfig(
        kind="jetson",
        sensor_id=1,
        width=1920,
        height=1080,
        fps=30,
        out_width=960,
        out_height=540,
        flip_method=2,
    )
    p = build_pipeline(cfg)
    parts = p.split(" ! ")
    assert parts[0] == "nvarguscamerasrc sensor-id=1"
    assert parts[1] == (
        "video/x-raw(memory:NVMM),width=1920,height=1080,framerate=30/1,format=NV12"
    )
    assert parts[2] == "nvvidconv flip-method=2"
    assert parts[3] == "video/x-raw,width=960,height=540,format=BGRx"
    assert parts[-1].startswith("appsink") and "drop=true" in parts[-1]
    assert "format=BGR" in parts[-2]


def test_jetson_pipeline_rejects_impossible_sizes() -> None:
    """Output larger than the sensor mode, or odd sizes, are refused with the reason."""
    with pytest.raises(ValueError, match="must not exceed"):
        build_pipeline(
            JetsonSourceConfig(
                kind="jetson", width=1280, height=720, out_width=1920, out_height=1080
            )
        )
    with pytest.raises(ValueError, match="even"):
        build_pipeline(JetsonSourceConfig(kind="jetson", out_width=961, out_height=540))


def test_gstreamer_detection_reads_the_build_information() -> None:
    """GStreamer support is read from OpenCV's build information."""
    assert opencv_has_gstreamer("  Video I/O:\n    GStreamer:                   YES (1.20.3)\n")
    assert not opencv_has_gstreamer("  Video I/O:\n    GStreamer:                   NO\n")


def test_jetson_input_without_gstreamer_is_a_clear_error() -> None:
    """Here (pip OpenCV, no GStreamer) opening fails saying what is missing."""
    if opencv_has_gstreamer():
        pytest.fail("this test expects the pip OpenCV build without GStreamer")
    inp = JetsonInput("csi", JetsonSourceConfig(kind="jetson"), key="camera 'csi' (cameras[0])")
    with pytest.raises(SourceError, match="no GStreamer support") as info:
        list(inp.stream())
    assert str(info.value).startswith(
        "camera 'csi' (cameras[0]): nvarguscamerasrc sensor-id=0: this OpenCV has no GStreamer"
    )


class _Capture:
    """Shaped like cv2.VideoCapture over a GStreamer pipeline (what runs on a Jetson)."""

    def __init__(self, pipeline: str, api: int) -> None:
        self.pipeline, self.api, self.reads, self.released = pipeline, api, 0, False

    def isOpened(self) -> bool:
        return True

    def read(self) -> tuple[bool, Any]:
        self.reads += 1
        if self.reads > 6:
            return False, None
        img = np.full((540, 960, 3), 100, np.uint8)
        img[50:100, 50:100] = 255
        return True, img

    def release(self) -> None:
        self.released = True


def test_jetson_input_masks_frames_and_releases() -> None:
    """With a capture of OpenCV's shape, frames come out masked, and the capture is released
    when the pipeline stops delivering (read_failed, naming the sensor)."""
    from edge.capture.privacy import MaskSpec

    made: list[_Capture] = []

    def factory(pipeline: str, api: int) -> _Capture:
        made.append(_Capture(pipeline, api))
        return made[-1]

    mask = MaskSpec(
        "csi", (960, 540), (("door", ((40.0, 40.0), (110.0, 40.0), (110.0, 110.0), (40.0, 110.0))),)
    )
    inp = JetsonInput(
        "csi",
        JetsonSourceConfig(kind="jetson"),
        roles=Role.DETECT,
        mask=mask,
        capture_factory=factory,
    )
    frames: list[Frame] = []
    with pytest.raises(SourceError, match=r"sensor-id=0: camera stopped delivering") as info:
        frames.extend(f for f in inp.stream() if isinstance(f, Frame))
    assert info.value.reason == "read_failed"
    assert len(frames) == 6
    assert all(f.image[50:100, 50:100].max() == 0 for f in frames)
    assert made[0].pipeline == inp.pipeline and made[0].released


def test_v4l2_options_and_missing_device() -> None:
    """The config becomes FFmpeg's v4l2 options; an unplugged camera is named (the other
    device errors: test_hw_v4l2.py)."""
    cfg = V4l2SourceConfig(
        kind="v4l2", device="/dev/video9", width=640, height=480, fps=10, input_format="yuyv422"
    )
    inp = V4l2Input("usb", cfg)
    assert inp.options() == {"video_size": "640x480", "framerate": "10", "input_format": "yuyv422"}
    with pytest.raises(SourceError, match=r"camera 'usb': /dev/video9: no such device"):
        list(inp.stream())


def test_real_picamera2_absent_is_explained() -> None:
    """Off a Pi, picamera2 cannot be imported; the error says how to get it on a Pi."""
    with pytest.raises(SourceError, match="python3-picamera2"):
        load_picamera2("camera 'pi' (cameras[0])")
    inp = PiCameraInput("pi", PicameraSourceConfig(kind="picamera"))
    with pytest.raises(SourceError, match="--system-site-packages"):
        list(inp.stream())


def test_fake_picamera2_cable_pulled_is_a_source_error(videos: Path) -> None:
    """A camera that fails mid-stream (cable pulled) ends the session with SourceError."""
    from edge.fakes.picamera2 import fake_picamera2

    module = fake_picamera2(videos / "car-detection.mp4", fail_after=10)
    inp = PiCameraInput(
        "pi", PicameraSourceConfig(kind="picamera", width=768, height=432, fps=30), module=module
    )
    got = []
    with pytest.raises(SourceError, match="camera stopped delivering mid-stream"):
        for item in inp.stream():
            got.append(item)
    assert len([g for g in got if isinstance(g, Frame)]) >= 5


def test_bench_capture_reports_all_modes(videos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`edge bench capture --json` reports decode, analysis and record figures."""
    src = str(videos / "car-detection.mp4")
    assert main(["bench", "capture", src, "--json", "--repeat", "1", "--limit", "10"]) == 0
    r = json.loads(capsys.readouterr().out)
    for mode in ("decode_all", "analysis", "record"):
        for key in ("cpu_s", "wall_s", "peak_rss_mb", "cpu_s_per_video_s", "cpu_ms_per_frame"):
            assert r[mode][key] >= 0
    assert r["analysis"]["frames_out"] < r["decode_all"]["frames_out"]
    assert r["record"]["frames_decoded"] == 0 and r["record"]["packets"] > 100
    assert r["record"]["packets_per_s"] > 0
