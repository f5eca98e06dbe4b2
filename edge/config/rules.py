"""Event rules: when things are armed, and which events belong to one incident."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from edge.config.base import Section

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class ScheduleConfig(Section):
    """Named recurring hours, e.g. working hours (local time of the site)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Schedule name.")
    days: list[Day] = Field(min_length=1, max_length=7, description="Days it applies to.")
    start: str = Field(pattern=_HHMM, description="Start, HH:MM local time.")
    end: str = Field(
        pattern=_HHMM,
        description="End, HH:MM local time; before start means past midnight; never equal to "
        "start.",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> ScheduleConfig:
        if self.start == self.end:
            raise ValueError(
                f"end: equals start ({self.start}), a schedule that is never in force (or was "
                'it meant all day?): for the whole day give start = "00:00", end = '
                '"23:59"; for never, remove it'
            )
        return self


class ArmingConfig(Section):
    """When a sensor, a camera or a camera zone is armed (events are alarms) or disarmed
    (events are information). Armed unless inside one of ``disarmed_during``."""

    sensor: str | None = Field(default=None, description="A sensor name.")
    camera: str | None = Field(default=None, description="A camera name (all its zones).")
    zone: str | None = Field(
        default=None, pattern=r"^[a-z0-9_-]+/[a-z0-9_-]+$", description="CAMERA/ZONE."
    )
    disarmed_during: list[str] = Field(
        default_factory=list, max_length=16, description="Schedules during which it is disarmed."
    )

    @model_validator(mode="after")
    def _one_target(self) -> ArmingConfig:
        if sum(x is not None for x in (self.sensor, self.camera, self.zone)) != 1:
            raise ValueError("give exactly one of sensor, camera or zone")
        return self


class RulesConfig(Section):
    """Arming schedules and incident correlation."""

    timezone: str = Field(default="UTC", description="IANA time zone of the site, for schedules.")
    schedules: list[ScheduleConfig] = Field(
        default_factory=list, max_length=32, description="Named recurring hours."
    )
    arming: list[ArmingConfig] = Field(
        default_factory=list, max_length=128, description="Who is armed when."
    )
    correlate_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="A door opening and a person on a linked camera within this many seconds "
        "share one incident id.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z0-9_+/-]+$", v):
            raise ValueError(f"not a time zone name: {v!r}")
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v

    @model_validator(mode="after")
    def _schedules_exist(self) -> RulesConfig:
        names = {s.name for s in self.schedules}
        for i, a in enumerate(self.arming):
            for s in a.disarmed_during:
                if s not in names:
                    raise ValueError(f"arming[{i}].disarmed_during: no schedule named {s!r}")
        return self
