"""Rules: arming schedules decide alarm or information; a door and a person seen soon after on
a linked camera share an incident."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from edge.config.loader import loads
from edge.config.rules import ScheduleConfig
from edge.core.ids import new_id
from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State
from edge.events.rules import Rules, in_schedule
from edge.events.scope import CameraScope

CFG = """
[node]
id = "n"
site = "s"
[[cameras]]
name = "bay"
detect = { kind = "file", path = "x.mp4" }
resolution = [640, 360]
zones = [{ name = "store", points = [[0, 0], [320, 0], [320, 360], [0, 360]] }]
[[sensors]]
name = "door"
kind = "door"
pin = 17
cameras = ["bay"]
[rules]
timezone = "Europe/Amsterdam"
correlate_s = 30
[[rules.schedules]]
name = "working-hours"
days = ["mon", "tue", "wed", "thu", "fri"]
start = "07:00"
end = "19:00"
[[rules.arming]]
sensor = "door"
disarmed_during = ["working-hours"]
[[rules.arming]]
zone = "bay/store"
"""
TZ = ZoneInfo("Europe/Amsterdam")


def _rules() -> Rules:
    cfg = loads(CFG)
    return Rules(cfg.rules, CameraScope.from_config(cfg.sensors))


def _at(y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=TZ).timestamp()


def _event(kind: Kind, ts: float, **kw: object) -> Event:
    return EventFactory("n", "s").make(kind, Severity.WARNING, State.START, new_id(), ts=ts, **kw)


def test_door_is_information_in_working_hours_and_an_alarm_outside() -> None:
    """Tuesday 10:00 the door is disarmed (info); Tuesday 22:00 and Saturday it is an alarm."""
    r = _rules()
    tue_day = r.apply(_event(Kind.DOOR_OPEN, _at(2026, 12, 1, 10), sensor="door"))
    tue_night = r.apply(_event(Kind.DOOR_OPEN, _at(2026, 12, 1, 22), sensor="door"))
    saturday = r.apply(_event(Kind.DOOR_OPEN, _at(2026, 12, 5, 10), sensor="door"))
    assert tue_day.severity == "info" and tue_day.data["armed"] is False
    assert tue_night.severity == "alarm" and saturday.severity == "alarm"


def test_zone_always_armed_and_other_kinds_untouched() -> None:
    """A person in an always-armed zone is an alarm; smoke keeps its own severity."""
    r = _rules()
    inside = r.apply(_event(Kind.PERSON, _at(2026, 12, 1, 10), camera="bay", zones=("store",)))
    outside = r.apply(_event(Kind.PERSON, _at(2026, 12, 1, 10), camera="bay"))
    assert inside.severity == "alarm"
    assert outside.severity == "warning"  # no rule for it
    smoke = r.apply(
        EventFactory("n", "s").make(
            Kind.SMOKE, Severity.CRITICAL, State.START, new_id(), sensor="door"
        )
    )
    assert smoke.severity == "critical"


def test_schedule_over_midnight() -> None:
    """A 22:00-06:00 schedule covers Friday 23:00 and Saturday 05:00, not Saturday 07:00."""
    night = ScheduleConfig(name="night", days=["fri"], start="22:00", end="06:00")
    assert in_schedule(night, datetime(2026, 12, 4, 23, tzinfo=TZ))
    assert in_schedule(night, datetime(2026, 12, 5, 5, tzinfo=TZ))
    assert not in_schedule(night, datetime(2026, 12, 5, 7, tzinfo=TZ))
    assert not in_schedule(night, datetime(2026, 12, 3, 23, tzinfo=TZ))


def test_door_then_person_on_linked_camera_is_one_incident() -> None:
    """A door opening and a person on its camera 12 s later share an incident; a person 5
    minutes later starts a new one; all events of one occurrence keep its incident."""
    r = _rules()
    t = _at(2026, 12, 1, 22)
    door = r.apply(_event(Kind.DOOR_OPEN, t, sensor="door"))
    person = r.apply(_event(Kind.PERSON, t + 12, camera="bay"))
    later = r.apply(_event(Kind.PERSON, t + 300, camera="bay"))
    assert door.incident and person.incident == door.incident
    assert later.incident != door.incident
    end = EventFactory("n", "s").make(
        Kind.PERSON, Severity.WARNING, State.END, person.occurrence, ts=t + 20, camera="bay"
    )
    assert r.apply(end).incident == door.incident


def test_person_first_then_door_also_correlates() -> None:
    """The other order works too."""
    r = _rules()
    t = _at(2026, 12, 1, 22)
    person = r.apply(_event(Kind.PERSON, t, camera="bay"))
    door = r.apply(_event(Kind.DOOR_OPEN, t + 5, sensor="door"))
    assert door.incident == person.incident


def test_rules_config_errors_name_the_place() -> None:
    """Unknown schedule, sensor, zone or time zone: a clear config error."""
    from edge.config.loader import ConfigError

    with pytest.raises(ConfigError, match="no schedule named 'lunch'"):
        loads(CFG.replace('disarmed_during = ["working-hours"]', 'disarmed_during = ["lunch"]'))
    with pytest.raises(ConfigError, match="no sensor named 'gate'"):
        loads(CFG.replace('sensor = "door"\ndisarmed', 'sensor = "gate"\ndisarmed'))
    with pytest.raises(ConfigError, match="has no zone 'yard'"):
        loads(CFG.replace('zone = "bay/store"', 'zone = "bay/yard"'))
    with pytest.raises(ConfigError, match="unknown time zone"):
        loads(CFG.replace("Europe/Amsterdam", "Mars/Olympus"))
