"""Is the system clock synchronised (NTP, chrony, timesyncd)? Evidence needs to say."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_TIME_ERROR = 5  # adjtimex(2): clock not synchronised


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """libc, found once (find_library runs external tools: far too slow per event)."""
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


def clock_synced() -> bool:
    """True when the kernel reports the clock synchronised (adjtimex state is not TIME_ERROR).

    Returns False where it cannot be told (no libc, not Linux).
    """
    libc = _libc()
    if libc is None:
        return False
    try:
        buf = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = int(libc.adjtimex(buf))
    except (OSError, AttributeError):
        return False
    return 0 <= state != _TIME_ERROR
