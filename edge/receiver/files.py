"""Clips and snapshots as files under the data directory, addressed by sha256
(``DATA/objects/ab/abcdef....mp4``): a name is its content, so writing one twice is harmless
and two receivers writing the same clip agree. Written to a temporary name, synced, renamed."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
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

    @contextlib.contextmanager
    def writing(self) -> Iterator[HashingWriter]:
        """A temporary file that hashes what is written; :meth:`HashingWriter.keep` moves it
        to its content name, otherwise it is removed when the block ends."""
        fd, tmp = tempfile.mkstemp(dir=self.objects, prefix=".tmp-")
        writer = HashingWriter(self, Path(tmp), os.fdopen(fd, "wb"))
        try:
            yield writer
        finally:
            writer.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def servable(self, recorded: str | None) -> Path | None:
        """*recorded* (a path the store holds) if it is a regular file inside the data
        directory, symlinks resolved; else None. Guards every file served."""
        if recorded is None:
            return None
        try:
            real = Path(recorded).resolve(strict=True)
            real.relative_to(self.root.resolve())
        except (OSError, ValueError):
            return None
        return real if real.is_file() else None


class HashingWriter:
    """A file being written with its sha256 and size kept (clip assembly streams chunks
    through one, so a large clip never sits in memory whole)."""

    def __init__(self, store: FileStore, path: Path, f: object) -> None:
        self._store, self._path = store, path
        self._f = f
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append *data*."""
        self._f.write(data)  # type: ignore[attr-defined]
        self._hash.update(data)
        self.size += len(data)

    @property
    def sha256(self) -> str:
        """Hex sha256 of what was written."""
        return self._hash.hexdigest()

    def keep(self, suffix: str) -> Path:
        """Sync the file and move it to its content name; returns that path."""
        path = self._store.path_of(self.sha256, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f.flush()  # type: ignore[attr-defined]
        os.fsync(self._f.fileno())  # type: ignore[attr-defined]
        self.close()
        os.replace(self._path, path)
        return path

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self._f.closed:  # type: ignore[attr-defined]
            self._f.close()  # type: ignore[attr-defined]
