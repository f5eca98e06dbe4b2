"""Clips and snapshots as files under the data directory, addressed by sha256
(``DATA/objects/ab/abcdef....mp4``): a name is its content, so writing one twice is harmless
and two receivers writing the same clip agree. Written to a temporary name, synced, renamed."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")


class FileStore:
    """Content-addressed files under *root*."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str, suffix: str) -> Path:
        """Where the object with *sha256* lives (no check that it exists)."""
        if not _SHA.match(sha256) or suffix not in (".mp4", ".jpg", ".json"):
            raise ValueError(f"not an object name: {sha256!r}{suffix!r}")
        return self.objects / sha256[:2] / f"{sha256}{suffix}"

    def put(self, data: bytes, sha256: str, suffix: str) -> Path:
        """Store *data* (whose hash the caller computed) unless it is there already."""
        path = self.path_of(sha256, suffix)
        if path.exists() and path.stat().st_size == len(data):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path

    def inside(self, path: Path) -> bool:
        """Is *path* (resolved) under the data directory? Guards every file served."""
        try:
            path.resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        return True
