"""The camera's ``tracker`` setting: ``iou`` by default; ``bytetrack`` refused, naming the
package and the key, where the supervision package is not installed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

import edge.config.detection as detection
from edge.analysis.track import Tracker
from edge.analysis.tracking.iou import IouMatcher
from edge.config.detection import CameraDetectionConfig


def test_default_is_todays_matcher() -> None:
    """Without the setting a camera keeps the ``iou`` matcher the node always had."""
    d = CameraDetectionConfig()
    assert d.tracker == "iou"
    assert isinstance(Tracker(matcher=d.tracker).matcher, IouMatcher)


def test_bytetrack_without_supervision_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node without the 'tracking' extra refuses ``tracker = "bytetrack"`` when the config
    is checked, not when the camera starts."""

    def find_spec(name: str, *args: Any) -> None:
        return None

    monkeypatch.setattr(detection, "find_spec", find_spec)
    with pytest.raises(ValidationError, match=r"supervision package .*tracking"):
        CameraDetectionConfig(tracker="bytetrack")
    with pytest.raises(ValidationError, match="tracker"):
        CameraDetectionConfig.model_validate({"tracker": "sort"})
