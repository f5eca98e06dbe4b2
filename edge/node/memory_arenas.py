"""Fewer malloc arenas for the many-threaded node.

glibc gives every thread that allocates under contention an arena of its own, up to eight per
core; a node runs two or three threads per camera (capture, analysis, encoder), so at 16
cameras memory is spread over many arenas whose freed pages are seldom returned: RSS grows and
stays up (measured at 16 cameras: about 60 MB more, and still creeping, than with two arenas;
docs/memory.md). ``MALLOC_ARENA_MAX`` in the systemd unit does this at exec; ``edge run``
also sets it itself, before any thread starts, so a node started by hand or by
``edge bench capacity`` behaves the same. A ``MALLOC_ARENA_MAX`` already in the environment
is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

ARENAS = 2
"""Arenas the node allocates from (what ``MALLOC_ARENA_MAX`` in the unit says too)."""
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(arenas: int = ARENAS) -> str:
    """Limit glibc's malloc to *arenas* arenas (call before starting threads). Returns what
    was done: ``set``, ``environment`` (``MALLOC_ARENA_MAX`` already given) or ``unsupported``
    (not glibc)."""
    if arenas < 1:
        raise ValueError(f"arenas must be >= 1, got {arenas}")
    if os.environ.get("MALLOC_ARENA_MAX"):
        return "environment"
    name = ctypes.util.find_library("c")
    if name is None:
        return "unsupported"
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "unsupported"
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return "set" if mallopt(_M_ARENA_MAX, arenas) == 1 else "unsupported"
