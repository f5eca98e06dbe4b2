"""The motion gate from daylight to a dark room, and what the detector is shown in the dark:
thresholds follow the scene's brightness and each pixel's noise, lighting switches stay
lighting changes, and a dark frame reaches the detector denoised and brightened."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge.analysis.detect.base import Detection
from edge.analysis.detect.filters import BoxFilter
from edge.analysis.lowlight import LowLight
from edge.analysis.motion.background import BackgroundMotion
from edge.config.cameras import MotionConfig
from edge.config.detection import CameraDetectionConfig

H, W = 360, 640
Image = npt.NDArray[np.uint8]


def _room(level: float) -> npt.NDArray[np.float32]:
    """A wall (upper half) and a darker floor, scaled to mean grey *level*."""
    room = np.full((H, W), 1.4, np.float32)
    room[H // 2 :] = 0.6
    return room * np.float32(level)


def _frame(
    scene: npt.NDArray[np.float32], rng: np.random.Generator, person_at: int | None = None
) -> Image:
    """*scene* with a person-sized dark figure at x *person_at*, shot and read noise."""
    s = scene.copy()
    if person_at is not None:
        s[100:330, person_at : person_at + 70] = 0.15 * scene.mean()
    sigma = np.sqrt(s / 4.0 + 1.0)  # 4 photo-electrons per level, read noise 1 level
    noisy = s + sigma * rng.standard_normal(s.shape).astype(np.float32)
    grey = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return np.dstack([grey] * 3)


def test_a_person_in_a_dark_room_is_motion_and_its_noise_is_not() -> None:
    """Mean grey 3 with sensor noise: after learning the room, noise alone is never motion;
    a person walking in is motion in every frame, with a region around them. (The fixed
    threshold of 25 grey levels saw nothing here: the whole scene spans 5 levels.)"""
    rng = np.random.default_rng(3)
    room = _room(3.0)
    gate = BackgroundMotion(MotionConfig())
    for _ in range(40):
        gate.process(_frame(room, rng))
    quiet = [gate.process(_frame(room, rng)) for _ in range(40)]
    assert not any(r.motion or r.lighting for r in quiet)
    assert gate.threshold < 3
    walking = [gate.process(_frame(room, rng, person_at=x)) for x in range(100, 400, 30)]
    assert all(r.motion and not r.lighting for r in walking)
    # the figure (x 370-440, y 100-330) against the wall; on the floor (1.8) it is only
    # 1.3 levels darker, within the noise
    x, y, w, h = max(walking[-1].regions, key=lambda r: r[2] * r[3])
    assert 330 <= x <= 380 and x + w >= 430 and y <= 110 and y + h >= 175
    assert walking[-1].brightness is not None and 2 < walking[-1].brightness < 4


def test_daylight_keeps_the_fixed_threshold() -> None:
    """In a well-lit scene the threshold is `threshold` (25): a 15-level change of a patch is
    not motion, a 60-level one is. In the dark a 3-level change of the same patch is."""
    rng = np.random.default_rng(4)
    gate = BackgroundMotion(MotionConfig())
    room = _room(130.0)
    for _ in range(10):
        gate.process(_frame(room, rng))
    assert gate.threshold == 25
    patch = room.copy()
    patch[100:200, 100:200] += 15
    assert not gate.process(_frame(patch, rng)).motion
    patch[100:200, 100:200] += 45
    assert gate.process(_frame(patch, rng)).motion

    dark = BackgroundMotion(MotionConfig())
    room = _room(3.0)
    for _ in range(40):
        dark.process(_frame(room, rng))
    patch = room.copy()
    patch[100:200, 100:200] += 3
    assert dark.process(_frame(patch, rng)).motion


def test_lights_coming_on_in_a_black_room_are_lighting_not_motion() -> None:
    """Black (0), a lamp warming up (mean 0.8, 11, 74, 116) and off again: lighting changes
    and settling, never motion, in a dark room as in a lit one."""
    rng = np.random.default_rng(5)
    gate = BackgroundMotion(MotionConfig())
    levels = [0.0] * 10 + [0.8, 11, 74, 116, 126, 121, 115] + [110.0] * 10
    levels += [100, 56, 17, 3.5, 0.6] + [0.0] * 10
    results = [
        gate.process(_frame(_room(lv), rng) if lv else np.zeros((H, W, 3), np.uint8))
        for lv in levels
    ]
    assert not any(r.motion for r in results)
    assert sum(r.lighting for r in results) >= 6


def test_noisy_pixels_learn_a_higher_threshold() -> None:
    """A flickering screen in an otherwise quiet dim room (mean grey 20): motion at first,
    none after a minute at 5 fps, because its pixels' learned noise raised their threshold
    while the rest of the room keeps its low one."""
    rng = np.random.default_rng(6)
    room = _room(20.0)
    gate = BackgroundMotion(MotionConfig())
    seen = []
    for _ in range(300):
        f = _frame(room, rng)
        f[50:120, 500:600] = np.uint8(np.clip(30 + rng.normal(0, 6), 0, 255))
        seen.append(gate.process(f).motion)
    assert any(seen[:30])
    assert sum(seen[-100:]) <= 2
    patch = room.copy()
    patch[200:300, 100:200] += 8  # 8 levels elsewhere in the room still count
    assert gate.process(_frame(patch, rng)).motion


def test_low_light_picture_is_grey_denoised_and_bright() -> None:
    """A dark frame reaches the detector grey, smoothed and at a mean grey of about 100 (the
    noise of the brightened picture well below the gain times the sensor's); a lit frame
    reaches it untouched; the running mean restarts on a lighting change."""
    rng = np.random.default_rng(7)
    room = _room(3.0)
    ll = LowLight(40.0)
    lit = _frame(_room(120.0), rng)
    ll.update(lit, 0.0, 120.0, False)
    assert not ll.dark and ll.picture(lit) is lit
    for i in range(10):
        f = _frame(room, rng)
        ll.update(f, 1.0 + 0.2 * i, float(f.mean()), False)
    pic = ll.picture(f)
    assert ll.dark and pic.shape == f.shape
    assert (pic[..., 0] == pic[..., 1]).all()
    assert 70 <= pic.mean() <= 130
    gain = ll.gain(float(f.mean()))
    wall = pic[20:150, 20:600, 0].astype(np.float32)
    assert wall.std() < 0.25 * gain * 1.2  # the sensor's noise there is 1.2 levels
    ll.update(f, 5.0, float(f.mean()), True)  # lights: start again from this frame
    fresh = ll.picture(f)[20:150, 20:600, 0].astype(np.float32)
    assert fresh.std() > 1.2 * wall.std()


def test_low_light_boxes_need_a_higher_score() -> None:
    """On the low-light picture a box needs low_light_min_score; by day min_score."""
    f = BoxFilter(CameraDetectionConfig(min_score=0.3, low_light_min_score=0.45))
    box = Detection(100, 50, 60, 160, 0.4)
    assert f([box], 640, 360) == [box]
    assert f([box], 640, 360, dark=True) == []
    assert f([Detection(100, 50, 60, 160, 0.5)], 640, 360, dark=True)
