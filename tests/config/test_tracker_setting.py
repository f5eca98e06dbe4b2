"""The camera's ``tracker`` setting: ``bytetrack`` by default, ``iou`` selectable. Where the
supervision package is not installed, the default falls back to ``iou`` with a logged
warning (the node starts), while a config that names ``bytetrack`` is refused when checked,
naming the package and the key."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import structlog
from pydantic import ValidationError

import edge.config.detection as detection
from edge.analysis.track import Tracker
from edge.analysis.tracking.iou import IouMatcher
from edge.config.detection import CameraDetectionConfig


def _without_supervision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the supervision package (and the matcher importing it) look not installed."""

    def find_spec(name: str, *args: Any) -> None:
        return None

    monkeypatch.setattr(detection, "find_spec", find_spec)
    for name in [n for n in sys.modules if n == "supervision" or n.startswith("supervision.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "supervision", None)
    monkeypatch.delitem(sys.modules, "edge.analysis.tracking.bytetrack", raising=False)


def test_default_is_bytetrack_and_iou_stays_selectable() -> None:
    """Without the setting a camera runs ByteTrack; ``tracker = "iou"`` the node's old
    matcher."""
    pytest.importorskip("supervision", reason="tracker = 'bytetrack' needs the 'tracking' extra")
    from edge.analysis.tracking.bytetrack import ByteTrackMatcher

    d = CameraDetectionConfig()
    assert d.tracker == "bytetrack"
    assert isinstance(Tracker(matcher=d.tracker).matcher, ByteTrackMatcher)
    iou = CameraDetectionConfig(tracker="iou")
    assert isinstance(Tracker(matcher=iou.tracker).matcher, IouMatcher)


def test_default_without_supervision_falls_back_to_iou_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A node without the 'tracking' extra and no tracker setting: the config is accepted and
    the camera's tracker runs ``iou``, logging ``tracker.fallback`` with the reason."""
    _without_supervision(monkeypatch)
    d = CameraDetectionConfig()
    assert d.tracker == "bytetrack"
    with structlog.testing.capture_logs() as logs:
        tracker = Tracker(matcher=d.tracker)
    assert isinstance(tracker.matcher, IouMatcher)
    (warning,) = [e for e in logs if e["event"] == "tracker.fallback"]
    assert warning["log_level"] == "warning" and warning["using"] == "iou"
    assert "supervision" in warning["reason"]


def test_bytetrack_named_without_supervision_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A config that names ``tracker = "bytetrack"`` on a node without the 'tracking' extra is
    refused when the config is checked, not when the camera starts; an unknown name too."""
    _without_supervision(monkeypatch)
    with pytest.raises(ValidationError, match=r"supervision package .*tracking"):
        CameraDetectionConfig(tracker="bytetrack")
    with pytest.raises(ValidationError, match="tracker"):
        CameraDetectionConfig.model_validate({"tracker": "sort"})
