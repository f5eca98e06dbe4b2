"""Rules applied to every event before it is accepted: arming (is this an alarm now?) and
correlation (which events are one incident)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

from edge.config.rules import ArmingConfig, RulesConfig, ScheduleConfig
from edge.core.ids import new_id
from edge.events.model import Event, Kind, Severity, State
from edge.events.scope import CameraScope

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ARMABLE = {Kind.PERSON, Kind.DOOR_OPEN, Kind.DOOR_LEFT_OPEN, Kind.PIR}
"""Kinds whose severity depends on arming. Smoke, tamper and faults are always what they are."""


def in_schedule(s: ScheduleConfig, local: datetime) -> bool:
    """True when *local* (site time) falls inside schedule *s*."""
    start = time.fromisoformat(s.start)
    end = time.fromisoformat(s.end)
    day = _DAYS[local.weekday()]
    now = local.time()
    if start <= end:
        return day in s.days and start <= now < end
    # past midnight: today's evening part, or the early part that began yesterday
    yesterday = _DAYS[(local.weekday() - 1) % 7]
    return (day in s.days and now >= start) or (yesterday in s.days and now < end)


_DOORS = {"door_open", "door_left_open"}


def _pair(a: str, b: str) -> bool:
    """A door event and a person event make one incident."""
    return (a in _DOORS and b == "person") or (b in _DOORS and a == "person")


def _applies(rule: ArmingConfig, event: Event) -> bool:
    if rule.sensor is not None:
        return rule.sensor == event.sensor
    if rule.camera is not None:
        return rule.camera == event.camera
    assert rule.zone is not None
    camera, zone = rule.zone.split("/", 1)
    return event.camera == camera and zone in event.zones


class Rules:
    """Arming and correlation. Thread-safe: cameras and sensors call it concurrently."""

    def __init__(self, cfg: RulesConfig, scope: CameraScope | None = None) -> None:
        self.cfg = cfg
        self.tz = ZoneInfo(cfg.timezone)
        self.schedules = {s.name: s for s in cfg.schedules}
        self.scope = scope or CameraScope()
        self._lock = threading.Lock()
        self._incident_of: dict[str, str] = {}  # occurrence -> incident
        self._recent: deque[tuple[float, str, str, frozenset[str]]] = deque(maxlen=256)
        # (time, kind, incident, cameras involved)

    # -- arming -----------------------------------------------------------------------------

    def armed(self, event: Event) -> bool | None:
        """Whether the thing *event* is about is armed now (None: no rule applies)."""
        local = datetime.fromtimestamp(event.ts, self.tz)
        verdict: bool | None = None
        for rule in self.cfg.arming:
            if not _applies(rule, event):
                continue
            disarmed = any(in_schedule(self.schedules[s], local) for s in rule.disarmed_during)
            verdict = (verdict or False) or not disarmed  # armed by any applicable rule
        return verdict

    # -- correlation ------------------------------------------------------------------------

    def _incident(self, event: Event) -> str:
        if event.occurrence in self._incident_of:
            return self._incident_of[event.occurrence]
        cams = frozenset(self.scope.of_event(event))
        incident = None
        if event.state in (State.START, State.INSTANT) and cams:
            for t, kind, inc, other in reversed(self._recent):
                if event.ts - t > self.cfg.correlate_s:
                    break
                if _pair(kind, str(event.kind)) and cams & other:
                    incident = inc
                    break
        incident = incident or new_id()
        self._incident_of[event.occurrence] = incident
        self._recent.append((event.ts, str(event.kind), incident, cams))
        if len(self._incident_of) > 4096:  # forget the oldest occurrences
            for k in list(self._incident_of)[:1024]:
                del self._incident_of[k]
        return incident

    def apply(self, event: Event) -> Event:
        """*event* with its severity set by arming and its incident id."""
        with self._lock:
            incident = self._incident(event)
        changes: dict[str, object] = {"incident": incident}
        if event.kind in _ARMABLE:
            armed = self.armed(event)
            if armed is not None:
                changes["severity"] = Severity.ALARM if armed else Severity.INFO
                changes["data"] = {**event.data, "armed": armed}
        return replace(event, **changes)  # type: ignore[arg-type]
