"""The capacity check of preflight: what the configured cameras need of this board's CPU
(:mod:`edge.config.capacity`), refused above the limit and warned about near it."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.cameras import (
    CameraConfig,
    JetsonSourceConfig,
    PicameraSourceConfig,
    V4l2SourceConfig,
)
from edge.config.capacity import (
    PROFILES,
    TASKS_MAX,
    BoardProfile,
    detect_board,
    threads_needed,
)
from edge.config.root import EdgeConfig

NEAR = 0.85
"""A need above this share of the limit is warned about."""


@dataclass(frozen=True)
class Need:
    """What a node's cameras need of its board."""

    profile: BoardProfile
    cameras: int
    fps: tuple[float, ...]
    pct: float
    """% of the whole board (all cores)."""
    limit_pct: float
    unknown_size: int
    """Cameras whose resolution the config does not give (counted at the profile's)."""

    def sentence(self) -> str:
        """``32 cameras at 5 fps need ~98% of a pi4 (limit 75%)``."""
        lo, hi = min(self.fps), max(self.fps)
        rate = f"{lo:g} fps" if lo == hi else f"{lo:g}-{hi:g} fps"
        plural = "camera" if self.cameras == 1 else "cameras"
        assumed = ""
        if self.unknown_size:
            p = self.profile
            assumed = (
                f"; {self.unknown_size} without resolution taken as {p.ref_width}x{p.ref_height}"
            )
        return (
            f"{self.cameras} {plural} at {rate} need ~{self.pct:.0f}% of a "
            f"{self.profile.name} (limit {self.limit_pct:g}%{assumed})"
        )


def camera_size(cam: CameraConfig) -> tuple[int, int] | None:
    """The size of the frames *cam* decodes for analysis, when the config says it."""
    src = cam.detect
    if isinstance(src, V4l2SourceConfig):
        return src.width, src.height
    if isinstance(src, PicameraSourceConfig):
        return src.lores_width, src.lores_height
    if isinstance(src, JetsonSourceConfig):
        return src.out_width, src.out_height
    if cam.resolution is not None:
        return cam.resolution[0], cam.resolution[1]
    return None


def need(cfg: EdgeConfig, board: str | None = None) -> Need | None:
    """What *cfg*'s opened cameras need of *board* (default: the configured or detected
    one); None without any (a private camera is never opened)."""
    name = board or cfg.capacity.board
    profile = PROFILES[detect_board() if name == "auto" else name]
    if cfg.capacity.camera_pct is not None:
        profile = profile.scaled_to(cfg.capacity.camera_pct)
    opened = [c for c in cfg.cameras if not c.private]
    if not opened:
        return None
    core_pct = 0.0
    unknown = 0
    for cam in opened:
        size = camera_size(cam)
        if size is None:
            unknown += 1
            size = (profile.ref_width, profile.ref_height)
        core_pct += profile.camera_pct(size[0], size[1], cam.fps)
    return Need(
        profile=profile,
        cameras=len(opened),
        fps=tuple(c.fps for c in opened),
        pct=core_pct / profile.cores,
        limit_pct=cfg.capacity.limit_pct,
        unknown_size=unknown,
    )


ADVICE = "lower fps or move cameras to a second node"


def capacity_problems(cfg: EdgeConfig) -> list[str]:
    """The refusals: more threads than the service unit allows, or (with ``enforce`` on)
    cameras that need more of the board's CPU than the limit."""
    opened = [c for c in cfg.cameras if not c.private]
    masked = sum(bool(c.privacy_masks) for c in opened)
    problems = []
    threads = threads_needed(len(opened), masked)
    if threads > TASKS_MAX:
        problems.append(
            f"cameras: {len(opened)} cameras ({masked} masked) need about {threads} threads, "
            f"more than the service's TasksMax={TASKS_MAX}; move cameras to a second node"
        )
    n = need(cfg)
    if n is not None and n.pct > n.limit_pct and cfg.capacity.enforce:
        problems.append(f"cameras: {n.sentence()}; {ADVICE}")
    return problems


def capacity_warnings(cfg: EdgeConfig) -> list[str]:
    """The warning when the cameras need more than :data:`NEAR` of the limit (or more than
    it with ``enforce = false``)."""
    n = need(cfg)
    if n is None or n.pct <= NEAR * n.limit_pct:
        return []
    if n.pct > n.limit_pct:
        if cfg.capacity.enforce:
            return []  # refused: a problem, not a warning
        return [f"cameras: {n.sentence()}, over it (capacity.enforce = false); {ADVICE}"]
    return [f"cameras: {n.sentence()}, near the limit; {ADVICE} before adding more"]
