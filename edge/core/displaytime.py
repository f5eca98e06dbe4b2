"""The one display time: every moment a person reads (dashboard, CLI, evidence README) is
shown in one zone, with that zone's label, as one date and one time
(``07-12-2026 06:14:18 WIB``), whatever the input: UNIX seconds or an RFC 3339 string.

Stored times stay UNIX seconds and UTC RFC 3339; only what is shown is converted. The words
around a time (relative ages, durations) are language; they live in the receiver's catalogs
(:mod:`edge.receiver.web.i18n`). Here are only the numbers they are made of."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge.core.errors import EdgeError

DEFAULT_ZONE = "Asia/Jakarta"
DEFAULT_LABEL = "WIB"
DATE_TIME = "%d-%m-%Y %H:%M:%S"
"""Day first, as read in Indonesia."""
MINUTE, HOUR, DAY = 60, 3600, 86400


class DisplayTimeError(EdgeError):
    """A time zone or a time that cannot be shown."""


def zone_info(name: str) -> ZoneInfo:
    """The IANA zone *name* (e.g. ``Asia/Jakarta``); an error naming it if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise DisplayTimeError(f"time zone {name!r}: no such IANA zone ({e})") from e


def moment(value: float | int | str | datetime) -> datetime:
    """*value* as an aware UTC datetime: UNIX seconds (number or numeric string), an RFC 3339
    string (``...Z`` or an offset), or an aware datetime. A time without an offset is
    refused: it names no moment."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, int | float):
        at = _from_epoch(float(value))
    else:
        text = value.strip()
        try:
            return _from_epoch(float(text))
        except ValueError:
            pass
        try:
            at = datetime.fromisoformat(text)
        except ValueError as e:
            raise DisplayTimeError(f"time {value!r}: neither UNIX seconds nor RFC 3339") from e
    if at.tzinfo is None or at.utcoffset() is None:
        raise DisplayTimeError(f"time {value!r}: no UTC offset, so no one moment")
    return at.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    if math.isnan(seconds) or abs(seconds) > 1e11:  # beyond year 5000
        raise DisplayTimeError(f"time {seconds!r}: not a UNIX time")
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class DisplayZone:
    """A zone to show times in, and the label shown after them."""

    name: str = DEFAULT_ZONE
    """IANA name (``Asia/Jakarta``)."""
    label: str = DEFAULT_LABEL
    """What follows a time (``WIB``)."""
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", zone_info(self.name))

    def local(self, value: float | int | str | datetime) -> datetime:
        """*value* in this zone."""
        return moment(value).astimezone(self.tz)

    def when(self, value: float | int | str | datetime | None) -> str:
        """``07-12-2026 06:14:18 WIB`` (empty for None)."""
        if value is None or value == "":
            return ""
        return f"{self.local(value).strftime(DATE_TIME)} {self.label}"

    def clock(self, value: float | int | str | datetime, now: float | None = None) -> str:
        """``23:10 WIB`` when *value* is on the same day (in this zone) as *now*, else the
        date too: ``06-12-2026 23:10 WIB``."""
        at = self.local(value)
        today = self.local(datetime.now(UTC) if now is None else now).date()
        shown = at.strftime("%H:%M" if at.date() == today else "%d-%m-%Y %H:%M")
        return f"{shown} {self.label}"

    def iso(self, value: float | int | str | datetime) -> str:
        """RFC 3339 in this zone (``2026-12-07T06:14:18+07:00``), for machine-readable
        fields beside the shown time."""
        return self.local(value).isoformat(timespec="seconds")


def span(seconds: float, units: int = 2) -> list[tuple[str, int]]:
    """*seconds* as its largest *units* non-zero parts: ``[("day", 1), ("hour", 3)]``
    (units ``day``, ``hour``, ``minute``, ``second``; ``[("second", 0)]`` for under a
    second; negative counts as zero)."""
    left = max(0, int(seconds))
    parts: list[tuple[str, int]] = []
    for unit, size in (("day", DAY), ("hour", HOUR), ("minute", MINUTE), ("second", 1)):
        n, left = divmod(left, size)
        if n or parts:
            parts.append((unit, n))
    parts = [p for p in parts[:units] if p[1]]
    return parts or [("second", 0)]
