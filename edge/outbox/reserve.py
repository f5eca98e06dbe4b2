"""Disk space held back for alarms: a file of zeros beside the outbox, allocated while there
is room and given up a step at a time when an alarm cannot be stored because the disk is
full, so several alarms find room one after another. Held again (whole) once the disk has
room for what is missing twice over.

Its size fits the disk: :data:`FRACTION` of the file system, at least :data:`FLOOR`, at most
the configured cap (``outbox.reserve_bytes``; 0: no reserve). A reserve that should exist
but cannot be made (the disk is too full) is reported: a warning at start and the heartbeat
reason ``reserve_missing``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from edge.core.logs import get_logger

log = get_logger(__name__)

FRACTION = 0.02
"""Share of the file system held for alarms (before the floor and the cap)."""
FLOOR = 256 * 1024
"""The smallest reserve: room for dozens of alarms (each a few SQLite pages in the WAL)."""
STEP_DIVISOR = 16
"""An alarm that finds the disk full frees 1/16 of the reserve (at least :data:`MIN_STEP`),
and more steps while it still does not fit."""
MIN_STEP = 32 * 1024


def fitted(total: int, cap: int) -> int:
    """The reserve for a file system of *total* bytes under *cap* (0 when *cap* is 0)."""
    if cap <= 0:
        return 0
    return min(cap, max(FLOOR, int(total * FRACTION)))


class SpaceReserve:
    """A reserve file at *path* sized for its file system, at most *cap* bytes."""

    def __init__(self, path: Path, cap: int) -> None:
        self.path = path
        self.cap = cap
        try:
            total = shutil.disk_usage(path.parent).total
        except OSError:
            total = 0
        self.size = fitted(total, cap)
        self.step = max(MIN_STEP, self.size // STEP_DIVISOR)
        self._warned = False

    @property
    def bytes_held(self) -> int:
        """Bytes the reserve file holds now."""
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    @property
    def held(self) -> bool:
        """True while the reserve file holds its whole size."""
        return self.size > 0 and self.bytes_held >= self.size

    @property
    def missing(self) -> bool:
        """True when a reserve is wanted but not (wholly) held: reported."""
        return self.size > 0 and not self.held

    def hold(self) -> bool:
        """Allocate what is missing of the reserve when the disk has room for it twice over;
        True when held afterwards. The first failure is logged (``outbox.reserve_missing``),
        and the reserve's return after one (``outbox.reserve_held``)."""
        if self.size <= 0:
            return False
        if self.held:
            return True
        want = self.size - self.bytes_held
        try:
            free = shutil.disk_usage(self.path.parent).free
            if free < 2 * want:
                return self._missing(f"{free} bytes free, {2 * want} needed")
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.size)  # real blocks, not a sparse file
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            with contextlib.suppress(OSError):
                self.path.unlink()
            return self._missing(str(e))
        if self._warned:
            log.info("outbox.reserve_held", path=str(self.path), bytes=self.size)
        self._warned = False
        return True

    def _missing(self, why: str) -> bool:
        if not self._warned:
            log.warning("outbox.reserve_missing", path=str(self.path), bytes=self.size,
                        held=self.bytes_held, reason=why)  # fmt: skip
        self._warned = True
        return False

    def release_step(self) -> int:
        """Give one step of the reserve back to the file system (an alarm needs room);
        returns the bytes freed (0: nothing was left to give)."""
        have = self.bytes_held
        if have <= 0:
            return 0
        left = max(0, have - self.step)
        try:
            if left == 0:
                self.path.unlink()
            else:
                os.truncate(self.path, left)
        except OSError:
            return 0
        self._warned = True  # its return is logged
        return have - left

    def release(self) -> bool:
        """Give the whole reserve back; True when there was one to give."""
        if self.bytes_held <= 0:
            return False
        try:
            self.path.unlink()
        except OSError:
            return False
        self._warned = True
        return True
