"""The clip being cut, kept on disk as it grows, so a node killed mid-clip (SIGKILL, a crash,
the watchdog) loses none of it: at the next start :mod:`edge.clips.recovery` makes the clip
from what is here.

One file per open clip, ``JOURNAL_DIR/CLIP_ID.CAMERA.journal``, appended with one ``write`` per
record (unbuffered: what was written is in the kernel's page cache and survives the process),
and flushed to the device with ``fdatasync`` every few seconds (:meth:`ClipJournal.sync`, from
the housekeeper, never from the capture thread), so a power cut loses at most those seconds.
The file goes once the finaliser has stored the clip and queued it for delivery.

Format: a magic line, then records ``kind (1 byte) | length (4, big-endian) | crc32 (4) |
payload``. Kinds: ``H`` the header (JSON: clip id, camera, stream description, method, mask
hash, trigger time), ``P`` a packet (pts, dts, keyframe, mono, wall, then the encoded bytes),
``E`` an event id the clip records, ``C`` closed (JSON: why). A record cut short or failing
its checksum ends the file: everything before it is used (a torn tail, never an error).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import shutil
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from edge.capture.frame import Packet, StreamInfo
from edge.core.logs import get_logger

log = get_logger(__name__)

MAGIC = b"warehouse-edge clip journal 1\n"
SUFFIX = ".journal"
SYNC_EVERY_S = 2.0
"""How often an open journal is flushed to the device (a power cut loses at most this)."""

_RECORD = struct.Struct(">cII")
_PACKET = struct.Struct(">ddBdd")
_MAX_RECORD = 64 * 1024 * 1024


@dataclass(frozen=True)
class JournalHeader:
    """What a journal says about its clip before the first packet."""

    clip_id: str
    camera: str
    info: StreamInfo
    method: str
    trigger_t: float
    opened_wall: float
    mask_hash: str | None = None
    first_wall: float | None = None
    """Wall-clock time of the clip's first (pre-roll) packet."""

    def to_json(self) -> bytes:
        """The header record's payload."""
        i = self.info
        return json.dumps(
            {
                "clip_id": self.clip_id,
                "camera": self.camera,
                "method": self.method,
                "trigger_t": self.trigger_t,
                "opened_wall": self.opened_wall,
                "first_wall": self.first_wall,
                "mask_hash": self.mask_hash,
                "codec": i.codec,
                "width": i.width,
                "height": i.height,
                "time_base": [i.time_base.numerator, i.time_base.denominator],
                "fps": i.fps,
                "extradata": base64.b64encode(i.extradata).decode() if i.extradata else None,
                "annexb": i.annexb,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> JournalHeader:
        """Parse a header record's payload (raises ValueError, KeyError or TypeError)."""
        d = json.loads(raw)
        tb = d["time_base"]
        extradata = base64.b64decode(d["extradata"]) if d["extradata"] else None
        info = StreamInfo(
            str(d["camera"]),
            str(d["codec"]),
            int(d["width"]),
            int(d["height"]),
            Fraction(int(tb[0]), int(tb[1])),
            None if d["fps"] is None else float(d["fps"]),
            extradata,
            bool(d["annexb"]),
        )
        return cls(
            str(d["clip_id"]),
            str(d["camera"]),
            info,
            str(d["method"]),
            float(d["trigger_t"]),
            float(d["opened_wall"]),
            None if d["mask_hash"] is None else str(d["mask_hash"]),
            None if d.get("first_wall") is None else float(d["first_wall"]),
        )


def _record(kind: bytes, payload: bytes) -> bytes:
    return _RECORD.pack(kind, len(payload), zlib.crc32(payload)) + payload


def _packet(p: Packet) -> bytes:
    dts = math.nan if p.dts is None else p.dts
    return _PACKET.pack(p.pts, dts, int(p.keyframe), p.mono, p.wall) + p.data


class ClipJournal:
    """The journal of one open clip. Writes never raise: a journal that cannot be written
    (a full disk) is given up, logged once, and the clip goes on in memory as before. Clips
    give way to events: when the disk has less than *keep_free_bytes* free (looked at on
    keyframes) the journal is given up and removed."""

    def __init__(self, path: Path, header: JournalHeader, keep_free_bytes: int = 0) -> None:
        self.path = path
        self.header = header
        self.keep_free_bytes = keep_free_bytes
        self.bytes = 0
        self.failed = False
        self.holds_packets = False
        """The recorder keeps some of the clip's packets only here (they are read back when
        the clip is written): never removed when given up, only no longer written."""
        self._lock = threading.Lock()
        self._last_sync = time.monotonic()
        self._fd: int | None = None
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError as e:
            self._give_up(e)
            return
        self._write(MAGIC + _record(b"H", header.to_json()))

    def _give_up(self, e: OSError | str) -> None:
        self.failed = True
        log.error(
            "clip.journal_failed",
            camera=self.header.camera,
            clip=self.header.clip_id,
            path=str(self.path),
            error=str(e),
            note="the clip goes on in memory; a crash before it is stored would lose it",
        )
        self.close()

    def _room(self) -> bool:
        """False (and the journal given up and removed) when events need the disk."""
        if not self.keep_free_bytes or self.failed:
            return not self.failed
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            return True
        if free >= self.keep_free_bytes:
            return True
        self._give_up(
            f"disk nearly full ({free} bytes free, {self.keep_free_bytes} kept for events)"
        )
        if not self.holds_packets:
            discard(self.path)
        return False

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                return
            try:
                view = memoryview(data)
                while view:
                    n = os.write(self._fd, view)
                    view = view[n:]
                self.bytes += len(data)
            except OSError as e:
                fd, self._fd = self._fd, None
                with contextlib.suppress(OSError):
                    os.close(fd)
                self._give_up(e)

    def packets(self, packets: list[Packet]) -> None:
        """Append packets of the clip (one write for all)."""
        if not packets or (any(p.keyframe for p in packets) and not self._room()):
            return
        self._write(b"".join(_record(b"P", _packet(p)) for p in packets))

    def event(self, event_id: str) -> None:
        """The clip records *event_id*."""
        self._write(_record(b"E", event_id.encode()))

    def closed(self, reason: str) -> None:
        """The clip was cut (it is on its way to the finaliser); stop writing."""
        self._write(_record(b"C", json.dumps({"reason": reason}).encode()))
        self.close()

    def sync(self, every_s: float = SYNC_EVERY_S) -> None:
        """Flush to the device when *every_s* passed since the last flush. Runs on the caller's
        thread (the housekeeper) on a duplicate of the file descriptor, so the writers never
        wait for the device."""
        if time.monotonic() - self._last_sync < every_s:
            return
        with self._lock:
            if self._fd is None:
                return
            fd = os.dup(self._fd)
        self._last_sync = time.monotonic()
        try:
            os.fdatasync(fd)
        except OSError as e:
            log.warning("clip.journal_sync_failed", path=str(self.path), error=str(e))
        finally:
            os.close(fd)

    def close(self) -> None:
        """Stop writing (the file stays until the clip is stored)."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


class Journals:
    """Where one camera's recorder keeps the journals of its clips."""

    def __init__(
        self,
        directory: Path,
        camera: str,
        mask_hash: str | None = None,
        keep_free_bytes: int = 0,
    ) -> None:
        self.dir = directory
        self.camera = camera
        self.mask_hash = mask_hash
        self.keep_free_bytes = keep_free_bytes
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def open(
        self,
        clip_id: str,
        info: StreamInfo,
        method: str,
        trigger_t: float,
        first_wall: float | None = None,
    ) -> ClipJournal:
        """Start the journal of clip *clip_id* (whose first packet was taken at *first_wall*)."""
        header = JournalHeader(
            clip_id, self.camera, info, method, trigger_t, time.time(), self.mask_hash, first_wall
        )
        path = path_of(self.dir, clip_id, self.camera)
        return ClipJournal(path, header, self.keep_free_bytes)


def path_of(directory: Path, clip_id: str, camera: str) -> Path:
    """The journal file of clip *clip_id* of *camera* in *directory*: both are in its name,
    so even a journal whose header was lost still says whose clip it was."""
    return directory / f"{clip_id}.{camera}{SUFFIX}"


def named(path: Path) -> tuple[str, str | None]:
    """The clip id and camera a journal's file name gives (camera None: not in the name)."""
    stem = path.name.removesuffix(SUFFIX)
    clip_id, _, camera = stem.partition(".")
    return clip_id, camera or None


def discard(path: Path | None) -> None:
    """Remove a journal whose clip is stored (or withheld on purpose)."""
    if path is None:
        return
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as e:  # left behind: recovered (or told lost) at the next start
        log.warning("clip.journal_not_removed", path=str(path), error=str(e))


@dataclass
class JournalContents:
    """What a journal holds, read back."""

    path: Path
    header: JournalHeader | None
    packets: list[Packet] = field(default_factory=list)
    event_ids: set[str] = field(default_factory=set)
    closed: str | None = None
    """Why the clip was cut, when it was (None: the node died while it was open)."""
    torn: bool = False
    """The file ended in a record cut short or failing its checksum."""
    problem: str | None = None
    """Why nothing at all could be read (no header)."""

    @property
    def span(self) -> tuple[float, float]:
        """Wall-clock time of the first and last packet; without packets, when the clip
        was opened and when its journal was last written."""
        if self.packets:
            return self.packets[0].wall, self.packets[-1].wall
        h = self.header
        start = (h.first_wall or h.opened_wall) if h else _mtime(self.path)
        return start, max(start, _mtime(self.path))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()


def read_journal(path: Path) -> JournalContents:
    """Read a journal back, up to its first damaged record."""
    out = JournalContents(path, None)
    try:
        data = path.read_bytes()
    except OSError as e:
        out.problem = f"cannot read: {e}"
        return out
    if not data.startswith(MAGIC):
        out.problem = "not a clip journal (bad magic line)"
        return out
    pos = len(MAGIC)
    while pos < len(data):
        if pos + _RECORD.size > len(data):
            out.torn = True
            break
        kind, size, crc = _RECORD.unpack_from(data, pos)
        body = data[pos + _RECORD.size : pos + _RECORD.size + size]
        if size > _MAX_RECORD or len(body) != size or zlib.crc32(body) != crc:
            out.torn = True
            break
        pos += _RECORD.size + size
        try:
            _apply(out, kind, body)
        except (ValueError, KeyError, TypeError, struct.error) as e:
            out.torn = True
            out.problem = out.problem or f"bad {kind!r} record: {e}"
            break
    if out.header is None and out.problem is None:
        out.problem = "no header record"
    return out


def _apply(out: JournalContents, kind: bytes, body: bytes) -> None:
    if kind == b"H":
        out.header = JournalHeader.from_json(body)
    elif out.header is None:
        raise ValueError("a record before the header")
    elif kind == b"P":
        pts, dts, key, mono, wall = _PACKET.unpack_from(body)
        out.packets.append(
            Packet(
                out.header.camera,
                body[_PACKET.size :],
                pts,
                None if math.isnan(dts) else dts,
                bool(key),
                mono,
                wall,
            )
        )
    elif kind == b"E":
        out.event_ids.add(body.decode())
    elif kind == b"C":
        out.closed = str(json.loads(body)["reason"])
    else:
        raise ValueError(f"unknown record kind {kind!r}")


def leftovers(directory: Path) -> list[Path]:
    """Journals left in *directory* (by a node that did not stop cleanly), oldest first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.name.endswith(SUFFIX) and p.is_file()]
    return sorted(found, key=lambda p: (_mtime(p), p.name))
