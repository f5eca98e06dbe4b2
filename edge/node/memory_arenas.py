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
import threading
import time
from collections.abc import Callable

from edge.core.logs import get_logger

log = get_logger(__name__)

TRIM_EVERY_S = 60.0
"""How often the node hands freed heap pages back to the system (:func:`trim`)."""
ARENAS = 2
"""Arenas the node allocates from (what ``MALLOC_ARENA_MAX`` in the unit says too)."""
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def limit_malloc_arenas(arenas: int = ARENAS) -> str:
    """Limit glibc's malloc to *arenas* arenas (call before starting threads). Returns what
    was done: ``set``, ``environment`` (``MALLOC_ARENA_MAX`` already given) or ``unsupported``
    (not glibc)."""
    if arenas < 1:
        raise ValueError(f"arenas must be >= 1, got {arenas}")
    if os.environ.get("MALLOC_ARENA_MAX"):
        return "environment"
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return "unsupported"
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return "set" if mallopt(_M_ARENA_MAX, arenas) == 1 else "unsupported"


class Trimmer:
    """Hands the heap's freed pages back to the system (glibc ``malloc_trim``) at most every
    *every_s*: what clips, decoders and the detector freed would otherwise stay resident
    (docs/memory.md). A housekeeping chore of the node."""

    def __init__(
        self, every_s: float = TRIM_EVERY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every_s = every_s
        self.trims = 0
        self._clock = clock
        self._next = clock() + every_s
        self._lock = threading.Lock()
        libc = _libc()
        self._trim = getattr(libc, "malloc_trim", None)
        if self._trim is not None:
            self._trim.argtypes = [ctypes.c_size_t]
            self._trim.restype = ctypes.c_int

    @property
    def supported(self) -> bool:
        """Whether this C library can trim (glibc)."""
        return self._trim is not None

    def maybe(self) -> bool:
        """Trim if *every_s* has passed since the last time; True when it trimmed."""
        with self._lock:
            now = self._clock()
            if self._trim is None or now < self._next:
                return False
            self._next = now + self.every_s
            t0 = time.perf_counter()
            self._trim(0)
            self.trims += 1
        log.debug("memory.trimmed", ms=round((time.perf_counter() - t0) * 1000, 1))
        return True


_TRIMMER = Trimmer()


def trim() -> None:
    """The node's housekeeping chore: :meth:`Trimmer.maybe` of the one process-wide trimmer."""
    _TRIMMER.maybe()
