"""Disk space held back for alarms: a file of zeros beside the outbox, allocated while there
is room and given up the moment an alarm cannot be stored because the disk is full. Held
again once the disk has room for it twice over."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


class SpaceReserve:
    """A reserve file of *size* bytes at *path* (size 0: no reserve)."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size

    @property
    def held(self) -> bool:
        """True while the reserve file holds its space."""
        try:
            return self.size > 0 and self.path.stat().st_size >= self.size
        except OSError:
            return False

    def hold(self) -> bool:
        """Allocate the reserve when it is missing and the disk has room for it twice over;
        True when held afterwards."""
        if self.size <= 0 or self.held:
            return self.size > 0
        try:
            if shutil.disk_usage(self.path.parent).free < 2 * self.size:
                return False
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.size)  # real blocks, not a sparse file
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            with contextlib.suppress(OSError):
                self.path.unlink()
            return False
        return True

    def release(self) -> bool:
        """Give the space back to the file system; True when there was a reserve to give."""
        if not self.held:
            return False
        try:
            self.path.unlink()
        except OSError:
            return False
        return True
