"""The node's state in one line for systemd's ``STATUS=`` (``systemctl status``): what is
wrong, read at a glance by a technician on site.

``running: healthy, 3 cameras, outbox 0``
``running: cameras 2/3 up (down: dock), police link down 40 s, outbox 120``
``watchdog withheld: cameras 2/3 up (down: hall), hall analysis stalled 45 s, outbox 3``

Cameras that do not work are named after ``down:``, never next to the count of those
that do: ``2/3 cameras (dock)`` read as if dock were the one working.

:func:`status_line` is pure (a :class:`Summary` in, a line out); :class:`StatusBoard` reads
the node into a summary and remembers since when each link is down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.node.liveness import Stall, Vitals
from edge.node.status import NodeState, Parts
from edge.sensors.outputs import Status

MAX_CHARS = 200
"""Longer lines are cut (systemd keeps a status line short)."""
NAMES_SHOWN = 3
"""Cameras named in a line at most; the rest are counted."""
_SHOWN_ELSEWHERE = (
    "camera_fault:",
    "camera_blocked:",
    "link_down:",
    "analysis_stalled:",
    "service_stalled:",
    "service_dead:",
)


@dataclass(frozen=True, slots=True)
class Summary:
    """What the status line is made of."""

    status: Status
    reasons: tuple[str, ...] = ()
    fed: bool = True
    """The watchdog is fed (nothing wedged or dead)."""
    cameras: int = 0
    """Cameras configured to run (blocked ones included, private ones not)."""
    cameras_down: tuple[str, ...] = ()
    """Cameras faulted, blocked, stalled or with a dead thread."""
    links_down: tuple[tuple[str, float], ...] = ()
    """(destination, seconds down) for each link not connected."""
    stalls: tuple[Stall, ...] = ()
    dead: tuple[str, ...] = ()
    """Services with a thread that ended unexpectedly."""
    outbox: int = 0
    """Messages stored and not yet delivered everywhere."""
    unstored: int = 0
    """Accepted events waiting in memory for room on the disk."""


def duration(seconds: float) -> str:
    """``40 s``, ``12 min``, ``5 h``, ``3 d``: coarse, so the line changes seldom."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 2 * 3600:
        return f"{s // 60} min"
    if s < 2 * 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{shown} +{more}" if more > 0 else shown


def _cameras(s: Summary) -> str:
    if s.cameras == 0:
        return "no cameras"
    noun = "camera" if s.cameras == 1 else "cameras"
    if not s.cameras_down:
        return f"{s.cameras} {noun}"
    up = max(0, s.cameras - len(s.cameras_down))
    return f"cameras {up}/{s.cameras} up (down: {_names(s.cameras_down)})"


def status_line(s: Summary) -> str:
    """The line: ``running`` or ``watchdog withheld``, then healthy or alarm, the cameras
    (how many work, which do not), links down and for how long, stalled stages, dead
    threads, any other reason as it is named in the heartbeat, and the outbox."""
    parts: list[str] = []
    if s.status in (Status.HEALTHY, Status.ALARM):
        parts.append(str(s.status))
    parts.append(_cameras(s))
    parts += [f"{name} link down {duration(secs)}" for name, secs in s.links_down]
    for st in s.stalls:
        what = "analysis stalled" if st.kind == "analysis" else "stalled"
        parts.append(f"{st.name} {what} {duration(st.seconds)}")
    parts += [f"{name} thread dead" for name in s.dead]
    parts += [r for r in s.reasons if not r.startswith(_SHOWN_ELSEWHERE)]
    outbox = f"outbox {s.outbox}"
    parts.append(outbox + (f" (+{s.unstored} in memory)" if s.unstored else ""))
    line = ("running" if s.fed else "watchdog withheld") + ": " + ", ".join(parts)
    return line if len(line) <= MAX_CHARS else line[: MAX_CHARS - 3] + "..."


def _camera_of(reason: str) -> str | None:
    kind, _, name = reason.partition(":")
    if kind in ("camera_fault", "camera_blocked", "analysis_stalled"):
        return name
    if kind == "service_dead" and name.startswith("camera-"):
        return name.removeprefix("camera-")
    return None


class StatusBoard:
    """Reads a node into a :class:`Summary`; remembers since when each link is down (from
    the first read that saw it down)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._down_since: dict[str, float] = {}

    def summary(self, node: Parts, state: NodeState, vitals: Vitals) -> Summary:
        """The summary of *node* now, in *state*, judged alive or not by *vitals*."""
        now = self.clock()
        links: list[tuple[str, float]] = []
        for link in node.links:
            name = link.dest.name
            if link.connected:
                self._down_since.pop(name, None)
            else:
                links.append((name, now - self._down_since.setdefault(name, now)))
        down = dict.fromkeys(c for c in map(_camera_of, state.reasons) if c is not None)
        return Summary(
            status=state.status,
            reasons=state.reasons,
            fed=vitals.alive,
            cameras=len(node.cameras) + len(node.blocked),
            cameras_down=tuple(down),
            links_down=tuple(links),
            stalls=vitals.stalls,
            dead=tuple(d.name for d in vitals.dead),
            outbox=node.outbox.total(),
            unstored=len(node.sink.backlog),
        )

    def line(self, node: Parts, state: NodeState, vitals: Vitals) -> str:
        """:func:`status_line` of :meth:`summary`."""
        return status_line(self.summary(node, state, vitals))
