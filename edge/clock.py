"""Is the system clock synchronised (NTP, chrony, timesyncd)? Evidence needs to say."""

from __future__ import annotations

import ctypes
import ctypes.util

_TIME_ERROR = 5  # adjtimex(2): clock not synchronised


def clock_synced() -> bool:
    """True when the kernel reports the clock synchronised (adjtimex state is not TIME_ERROR).

    Returns False where it cannot be told (no libc, not Linux).
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = int(libc.adjtimex(buf))
    except (OSError, AttributeError):
        return False
    return 0 <= state != _TIME_ERROR
