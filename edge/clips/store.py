"""Local retention of clips and snapshots: a byte quota that is never exceeded, a maximum age,
the oldest delivered files first. Events live in the outbox, not here: evicting a clip never
loses an event."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from edge.config.root import EdgeConfig
from edge.core.errors import ClipError
from edge.core.logs import get_logger

log = get_logger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS item(
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    camera TEXT NOT NULL,
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created REAL NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS item_age ON item(delivered, created);
"""


@dataclass(frozen=True)
class Stored:
    """A file under retention."""

    id: str
    kind: str
    camera: str
    path: Path
    bytes: int
    created: float
    delivered: bool


class QuotaError(ClipError):
    """A file larger than the whole quota cannot be kept."""


class ClipStore:
    """Files (clips, manifests, snapshots) in one directory under a byte quota."""

    def __init__(
        self, directory: Path, max_bytes: int, max_age_s: float, keep_free_bytes: int = 0
    ) -> None:
        self.dir = directory
        self.journal_dir = directory / "journal"
        """Journals of the clips being cut (:mod:`edge.clips.journal`): counted in the quota."""
        self.keep_free_bytes = keep_free_bytes
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.evicted = 0
        self.evicted_undelivered = 0
        self._lock = threading.RLock()
        index = self.dir / "index.sqlite"  # owner only, whatever the umask (-wal/-shm follow)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(index, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.chmod(index, 0o600)
        self._db = sqlite3.connect(index, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._reserved = 0

    @classmethod
    def from_config(cls, cfg: EdgeConfig) -> ClipStore:
        """The node's store: its clip directory, quota, age limit and free space kept."""
        c = cfg.clips
        return cls(cfg.clips_dir, c.max_bytes, c.max_age_days * 86400, c.keep_free_bytes)

    def path_for(self, name: str) -> Path:
        """Where a new file called *name* goes."""
        return self.dir / name

    def usage(self) -> int:
        """Bytes on disk of every kept file and every file being written, clip journals
        included (the index database, a few kB, is not counted)."""
        total = 0
        for d in (self.dir, self.journal_dir):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(d) as it:
                for e in it:
                    with contextlib.suppress(FileNotFoundError):
                        if e.is_file() and not e.name.startswith("index.sqlite"):
                            total += e.stat().st_size
        return total

    def reserve(self, nbytes: int) -> None:
        """Make room for *nbytes* about to be written: expired delivered files go, then the
        oldest delivered ones, then (logged, counted) the oldest undelivered ones."""
        if nbytes > self.max_bytes:
            raise QuotaError(f"{nbytes} bytes exceed the whole clip quota of {self.max_bytes}")
        with self._lock:
            self.expire()
            while self.usage() + nbytes > self.max_bytes:
                victim = self._oldest(delivered=True) or self._oldest(delivered=False)
                if victim is None:
                    raise QuotaError(
                        f"{self.dir}: {self.usage()} bytes on disk not under retention; "
                        f"cannot free {nbytes}"
                    )
                self._evict(victim, "quota")
            # clips give way first: events (in the outbox) must always find room on the disk
            while shutil.disk_usage(self.dir).free < nbytes + self.keep_free_bytes:
                victim = self._oldest(delivered=True) or self._oldest(delivered=False)
                if victim is None:
                    raise QuotaError(
                        f"{self.dir}: disk nearly full ({shutil.disk_usage(self.dir).free} bytes "
                        f"free, {self.keep_free_bytes} kept for events): clip not kept"
                    )
                self._evict(victim, "disk_space")

    def add(self, item_id: str, kind: str, camera: str, path: Path) -> Stored:
        """Put a written file under retention."""
        size = path.stat().st_size
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO item(id, kind, camera, file, bytes, created, delivered)"
                " VALUES (?,?,?,?,?,?,0)",
                (item_id, kind, camera, path.name, size, now),
            )
        return Stored(item_id, kind, camera, path, size, now, False)

    def mark_delivered(self, item_id: str) -> None:
        """Every destination has the file: it may go first when room is needed."""
        with self._lock:
            self._db.execute("UPDATE item SET delivered=1 WHERE id=?", (item_id,))

    def get(self, item_id: str) -> Stored | None:
        """The stored item, or None (never stored, or evicted)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, kind, camera, file, bytes, created, delivered FROM item WHERE id=?",
                (item_id,),
            ).fetchone()
        return self._row(row) if row else None

    def expire(self, now: float | None = None) -> int:
        """Delete delivered files older than the maximum age; returns how many."""
        cutoff = (now or time.time()) - self.max_age_s
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, camera, file, bytes, created, delivered FROM item"
                " WHERE delivered=1 AND created < ?",
                (cutoff,),
            ).fetchall()
            for row in rows:
                self._evict(self._row(row), "age")
        return len(rows)

    def _oldest(self, *, delivered: bool) -> Stored | None:
        row = self._db.execute(
            "SELECT id, kind, camera, file, bytes, created, delivered FROM item"
            " WHERE delivered=? ORDER BY created LIMIT 1",
            (int(delivered),),
        ).fetchone()
        return self._row(row) if row else None

    def _row(self, row: tuple[str, str, str, str, int, float, int]) -> Stored:
        return Stored(row[0], row[1], row[2], self.dir / row[3], row[4], row[5], bool(row[6]))

    def _evict(self, item: Stored, why: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            item.path.unlink()
        self._db.execute("DELETE FROM item WHERE id=?", (item.id,))
        self.evicted += 1
        if not item.delivered:
            self.evicted_undelivered += 1
            log.warning(
                "clips.evicted_undelivered",
                id=item.id,
                kind=item.kind,
                camera=item.camera,
                bytes=item.bytes,
                reason=why,
            )
        else:
            log.info("clips.evicted", id=item.id, kind=item.kind, reason=why)

    def close(self) -> None:
        """Close the index."""
        with self._lock:
            self._db.close()
