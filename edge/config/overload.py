"""When the node calls itself overloaded: the share of analysis frames it drops, or how far
its analysis runs behind real time, over a recent window (:mod:`edge.node.overload`)."""

from __future__ import annotations

from pydantic import Field

from edge.config.base import Section


class OverloadConfig(Section):
    """The bounds above which the heartbeat says ``degraded`` with an ``overloaded:`` reason.
    It clears only once the load is well below them (half of each bound), so a node near a
    bound does not flap."""

    window_s: float = Field(
        default=60.0,
        ge=2,
        le=3600,
        description="Seconds of recent analysis the drop share, analysed fps and lag are "
        "judged over.",
    )
    drop_share: float = Field(
        default=0.01,
        gt=0,
        le=0.5,
        description="Share of a camera's analysis frames dropped over the window (0.01 = 1%) "
        "above which the node is overloaded; it clears once every camera is below half of it.",
    )
    lag_s: float = Field(
        default=10.0,
        ge=1,
        le=600,
        description="Seconds behind real time a camera's analysis may run before the node is "
        "overloaded; it clears once every camera is below half of it.",
    )
    settle_s: float = Field(
        default=15.0,
        ge=0,
        le=600,
        description="Seconds after a camera's first frame before its frames count: a "
        "decoder's and the detector's first calls are slow, and frames dropped then say "
        "nothing about the load.",
    )
    min_frames: int = Field(
        default=20,
        ge=1,
        le=100000,
        description="Analysis frames (analysed plus dropped) a camera's window must hold before "
        "its drop share is judged: a few frames at start say nothing.",
    )
