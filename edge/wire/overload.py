"""The ``overloaded: ...`` reason of a node's heartbeat, as the node writes it
(:mod:`edge.node.overload` decides when) and the receiver reads it back into figures:

``overloaded: 20% of frames dropped on 32 cameras``
``overloaded: analysis 14 s behind on 2 cameras``
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "overloaded: "
_DROPS = re.compile(r"^overloaded: ([\d.]+)% of frames dropped on (\d+) cameras?$")
_LAG = re.compile(r"^overloaded: analysis ([\d.]+) s behind on (\d+) cameras?$")


def percent(share: float) -> str:
    """``0.2013`` -> ``20%``; to a tenth below 2% (``1.4%``), else whole percent."""
    p = share * 100
    if p < 2:
        return f"{p:.1f}%"
    return f"{p:.0f}%"


def seconds(lag_s: float) -> str:
    """Whole seconds: ``14 s``."""
    return f"{lag_s:.0f} s"


def _cameras(n: int) -> str:
    return f"{n} camera" if n == 1 else f"{n} cameras"


def drops_reason(share: float, cameras: int) -> str:
    """``overloaded: 20% of frames dropped on 32 cameras``."""
    return f"{PREFIX}{percent(share)} of frames dropped on {_cameras(cameras)}"


def lag_reason(lag_s: float, cameras: int) -> str:
    """``overloaded: analysis 14 s behind on 2 cameras``."""
    return f"{PREFIX}analysis {seconds(lag_s)} behind on {_cameras(cameras)}"


@dataclass(frozen=True, slots=True)
class Overload:
    """A reason read back: ``kind`` ``drops`` (``value`` the share in percent) or ``lag``
    (``value`` in seconds), on ``cameras`` cameras."""

    kind: str
    value: float
    cameras: int


def parse(reason: str) -> Overload | None:
    """The overload reason *reason* as figures; None for any other reason."""
    for kind, pattern in (("drops", _DROPS), ("lag", _LAG)):
        m = pattern.match(reason)
        if m:
            return Overload(kind, float(m.group(1)), int(m.group(2)))
    return None
