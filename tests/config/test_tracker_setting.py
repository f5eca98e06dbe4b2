"""The camera's ``tracker`` setting: ``bytetrack`` by default, ``iou`` selectable, anything
else refused naming the key. ByteTrack needs no extra package: a node without SciPy or
supervision runs it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from edge.analysis.track import Tracker
from edge.analysis.tracking.bytetrack import ByteTrackMatcher
from edge.analysis.tracking.iou import IouMatcher
from edge.config.detection import CameraDetectionConfig


def test_default_is_bytetrack_and_iou_stays_selectable() -> None:
    """Without the setting a camera runs ByteTrack; ``tracker = "iou"`` the node's old
    matcher."""
    d = CameraDetectionConfig()
    assert d.tracker == "bytetrack"
    assert isinstance(Tracker(matcher=d.tracker).matcher, ByteTrackMatcher)
    iou = CameraDetectionConfig(tracker="iou")
    assert isinstance(Tracker(matcher=iou.tracker).matcher, IouMatcher)


def test_an_unknown_tracker_is_a_config_error() -> None:
    """A tracker that does not exist is refused when the config is checked, naming the key."""
    with pytest.raises(ValidationError, match="tracker"):
        CameraDetectionConfig.model_validate({"tracker": "sort"})


def test_bytetrack_runs_where_scipy_and_supervision_cannot_be_imported() -> None:
    """In a fresh interpreter where importing SciPy or supervision fails, a ByteTrack tracker
    is made and follows a person over two runs; neither package was loaded."""
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("scipy", "supervision"):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
from edge.analysis.detect.base import Detection
from edge.analysis.track import Tracker
t = Tracker(matcher="bytetrack")
d = Detection(100, 100, 40, 100, 0.9)
a = t.matcher.assign([d], {}, 0.0)
t.matcher.bind(0, "t1")
b = t.matcher.assign([Detection(102, 100, 40, 100, 0.9)], {"t1": d}, 0.2)
print(type(t.matcher).__name__, a, b,
      sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "supervision")))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == "ByteTrackMatcher {0: None} {0: 't1'} []"
