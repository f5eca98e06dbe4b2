"""What the outbox knows about its own file across starts, and what it reports when the
file was damaged or lost.

Beside ``outbox.sqlite`` the node keeps ``outbox.sqlite.state`` (0600): the outbox's
identity (also stored inside the database) and how many messages it held when last
counted (every check and at a clean stop). An outbox file that is missing at start while
this state exists was deleted, not never made: that is reported (with the last count as
the loss), never silently replaced by an empty queue. A file whose identity differs was
swapped for another one.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge.core.ids import new_id
from edge.core.logs import get_logger

log = get_logger(__name__)

SCHEMA = "warehouse-edge/outbox-state/1"
MAX_NAMED = 20
"""Lost message ids named in a report (the count covers all)."""


@dataclass(frozen=True)
class Recovery:
    """One damaged or lost outbox file and what became of its messages."""

    reason: str
    kept_as: str | None
    """Where the damaged file was kept for forensics (None: nothing was left to keep)."""
    recovered: int
    lost: int
    lost_ids: tuple[str, ...] = ()
    estimate: bool = False
    """True when ``lost`` is the last count of a file that could not be read at all."""
    time: float = field(default_factory=time.time)

    def data(self) -> dict[str, Any]:
        """The report as an event's ``data`` and the heartbeat's ``storage.outbox_recovered``."""
        out = asdict(self)
        out["lost_ids"] = list(self.lost_ids[:MAX_NAMED])
        out["time"] = round(self.time, 3)
        return out


@dataclass(frozen=True)
class OutboxState:
    """The outbox's identity and its last count (``outbox.sqlite.state``)."""

    id: str
    messages: int
    written: float

    @staticmethod
    def path_for(outbox: Path) -> Path:
        """Where the state of the outbox at *outbox* lives."""
        return outbox.with_name(outbox.name + ".state")

    @classmethod
    def read(cls, outbox: Path) -> OutboxState | None:
        """The state beside *outbox*, or None when there is none (a new node) or it is not
        one (then it is ignored, with a warning: it holds nothing that must be kept)."""
        path = cls.path_for(outbox)
        try:
            raw = json.loads(path.read_text())
            if raw.get("schema") != SCHEMA:
                raise ValueError(f"schema {raw.get('schema')!r}")
            return cls(str(raw["id"]), int(raw["messages"]), float(raw["written"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            log.warning("outbox.state_unreadable", path=str(path), error=str(e))
            return None

    @classmethod
    def fresh(cls) -> OutboxState:
        """The state of a newly made outbox."""
        return cls(new_id(), 0, time.time())

    def write(self, outbox: Path) -> bool:
        """Write this state beside *outbox* (whole or not at all); False when it cannot be
        written (a full disk: the last one stays)."""
        path = self.path_for(outbox)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        body = {"schema": SCHEMA, "id": self.id, "messages": self.messages,
                "written": round(self.written, 3)}  # fmt: skip
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(body, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            log.warning("outbox.state_write_failed", path=str(path), error=str(e))
            with contextlib.suppress(OSError):
                tmp.unlink()
            return False
        return True


def set_aside(path: Path, label: str = "corrupt") -> Path | None:
    """Rename the outbox at *path* and its ``-wal``/``-shm`` to ``NAME.LABEL-STAMP`` (kept
    for forensics, never deleted); returns the new name of the main file (None when only
    companions, or nothing, were there)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while any(Path(f"{kept}{s}").exists() for s in ("", "-wal", "-shm")):
        n += 1
        kept = path.with_name(f"{path.name}.{label}-{stamp}.{n}")
    main, moved = None, []
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        with contextlib.suppress(FileNotFoundError):
            part.rename(Path(f"{kept}{suffix}"))
            moved.append(f"{kept}{suffix}")
            main = kept if suffix == "" else main
    if moved:
        log.warning("outbox.set_aside", path=str(path), kept=moved)
    return main


def identity(path: Path) -> tuple[int, int] | None:
    """The file at *path* as (device, inode), None when it is not there."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino
