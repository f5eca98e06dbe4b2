"""A journal's packets read back one record at a time (:mod:`edge.clips.journal` says the
format), so writing a long clip never holds the whole clip in memory: only the record being
read and what the muxer buffers.

Like :func:`edge.clips.journal.read_journal`, a record cut short or failing its checksum ends
the packets (a torn tail, never an error); :class:`JournalStream` says so afterwards."""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from edge.capture.frame import Packet
from edge.clips.journal import _MAX_RECORD, _PACKET, _RECORD, MAGIC, JournalHeader

READ_BUFFER = 64 * 1024
"""Bytes read from the journal file at a time."""


class JournalStream:
    """The packets of the journal at *path* (at most *limit*), read as they are iterated.
    Iterate again for a second pass. After a pass: ``read`` (packets given), ``torn``
    (the file ended in a damaged record) and ``problem`` (why it could not be read)."""

    def __init__(self, path: Path, limit: int | None = None) -> None:
        self.path = path
        self.limit = limit
        self.read = 0
        self.torn = False
        self.problem: str | None = None

    def __iter__(self) -> Iterator[Packet]:
        self.read, self.torn, self.problem = 0, False, None
        if self.limit is not None and self.limit <= 0:
            return
        try:
            f = self.path.open("rb", buffering=READ_BUFFER)
        except OSError as e:
            self.problem = f"cannot read: {e}"
            return
        with f:
            if f.read(len(MAGIC)) != MAGIC:
                self.problem = "not a clip journal (bad magic line)"
                return
            yield from self._records(f)

    def _records(self, f: BinaryIO) -> Iterator[Packet]:
        read = f.read
        camera: str | None = None
        while True:
            head = read(_RECORD.size)
            if not head:
                return
            if len(head) < _RECORD.size:
                self.torn = True
                return
            kind, size, crc = _RECORD.unpack(head)
            body = read(size) if size <= _MAX_RECORD else b""
            if size > _MAX_RECORD or len(body) != size or zlib.crc32(body) != crc:
                self.torn = True
                return
            if kind == b"H":
                try:
                    camera = JournalHeader.from_json(body).camera
                except (ValueError, KeyError, TypeError) as e:
                    self.torn, self.problem = True, f"bad header record: {e}"
                    return
            elif kind == b"P":
                if camera is None or len(body) < _PACKET.size:
                    self.torn, self.problem = True, "a packet record before the header"
                    return
                pts, dts, key, mono, wall = _PACKET.unpack_from(body)
                yield Packet(camera, body[_PACKET.size :], pts,
                             None if math.isnan(dts) else dts, bool(key), mono, wall)  # fmt: skip
                self.read += 1
                if self.limit is not None and self.read >= self.limit:
                    return


class ClipPackets:
    """A clip's packets in order: the first *spilled* read from its *journal* as they are
    iterated, then the ones kept in memory (*tail*). Iterate again for a second pass."""

    def __init__(self, journal: Path | None, spilled: int, tail: list[Packet]) -> None:
        self.head = JournalStream(journal, spilled) if journal is not None and spilled else None
        self.spilled = spilled
        self.tail = tail

    def __iter__(self) -> Iterator[Packet]:
        if self.head is not None:
            yield from self.head
        yield from self.tail

    @property
    def short(self) -> int:
        """How many of the spilled packets the last pass could not read (a torn or missing
        journal): those are not in the clip."""
        return self.spilled - (self.head.read if self.head is not None else 0)

    def estimate(self) -> int:
        """Bytes the clip's packets take at most: the journal file (the spilled packets and
        some framing) and the packets in memory."""
        size = 0
        if self.head is not None:
            try:
                size = self.head.path.stat().st_size
            except OSError:
                size = 0
        return size + sum(len(p.data) for p in self.tail)
