"""How the dashboard and ``edge receive user`` show when a login lock ends (in WIB). The
throttle itself (by source address first, then the account) and its tables are the
store's: :mod:`edge.receiver.store.throttle`."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")
"""Western Indonesia Time (Asia/Jakarta: UTC+7 all year, no daylight saving)."""


def wib(when: float, now: float | None = None) -> str:
    """*when* as ``HH:MM WIB``, with the date in front when it is not today's (in WIB)."""
    at = datetime.fromtimestamp(when, WIB)
    today = datetime.fromtimestamp(time.time() if now is None else now, WIB).date()
    return at.strftime("%H:%M WIB" if at.date() == today else "%Y-%m-%d %H:%M WIB")
