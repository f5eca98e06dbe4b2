"""A clip is written straight from its journal, record by record (edge/clips/journal_stream.py,
edge/clips/mp4.py): never the whole clip in memory; a torn journal gives the packets before
the damage; a disk that refuses the MP4 leaves no part file and loses nothing (the clip waits
in its journal and is written once the disk takes it). Real journals, real PyAV, a real
tmpfs."""

from __future__ import annotations

import errno
import os
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import av
import pytest
import structlog
from faults import small_disk
from timing import wait_until

from edge.capture.file import FileInput
from edge.capture.frame import Packet, Role, StreamInfo
from edge.clips.finalize import NICE, ClipFinalizer
from edge.clips.journal import Journals, read_journal
from edge.clips.journal_stream import ClipPackets, JournalStream
from edge.clips.mp4 import ClipDiskError, write_mp4
from edge.clips.recorder import ClipJob, ClipRecorder
from edge.clips.store import ClipStore
from edge.config.clips import ClipConfig
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey

ONE_BY_ONE = "one-by-one-person-detection.mp4"


@pytest.fixture(scope="module")
def sample(videos: Path) -> tuple[StreamInfo, list[Packet]]:
    """The sample video's stream description and encoded packets (139 s, 3.3 MB)."""
    items = list(FileInput("cam", videos / ONE_BY_ONE, roles=Role.RECORD).stream())
    info = next(i for i in items if isinstance(i, StreamInfo))
    return info, [p for p in items if isinstance(p, Packet)]


def _journal(directory: Path, clip_id: str, info: StreamInfo, packets: list[Packet]) -> Path:
    """A closed journal of *packets*, as a recorder leaves it."""
    j = Journals(directory, "cam").open(clip_id, info, "remux", packets[0].pts, packets[0].wall)
    j.packets(packets)
    j.closed("capped")
    return j.path


def _finalizer(tmp: Path, store: ClipStore) -> tuple[ClipFinalizer, list[Path]]:
    sent: list[Path] = []

    def on_clip(_signed: dict[str, Any], path: Path) -> None:
        sent.append(path)

    fin = ClipFinalizer(store, NodeKey.create(tmp / "key.pem"), AuditLog(tmp / "audit.log"),
                        node="n", site="s", on_clip=on_clip)  # fmt: skip
    return fin, sent


def _packets_in(mp4: Path) -> int:
    with av.open(str(mp4)) as c:
        return sum(1 for p in c.demux(video=0) if p.size)


def test_a_long_clip_is_written_from_its_journal_without_holding_it(
    tmp_path: Path, sample: tuple[StreamInfo, list[Packet]]
) -> None:
    """A clip spilled to its journal but for its last 10 packets: the MP4 holds every packet
    in order, and writing it allocates far less than the clip (Python's allocations, traced:
    the old way read the journal back whole, then copied every packet)."""
    info, packets = sample
    journal = _journal(tmp_path, "c1", info, packets)
    clip = ClipPackets(journal, len(packets) - 10, packets[-10:])
    size = sum(len(p.data) for p in packets)
    tracemalloc.start()
    try:
        written = write_mp4(tmp_path / "c1.mp4", info, clip)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size / 4, f"{peak} bytes allocated to write a {size}-byte clip"
    assert written.packets == len(packets) == _packets_in(written.path)
    assert (written.first_wall, written.last_wall) == (packets[0].wall, packets[-1].wall)
    assert clip.short == 0 and not (tmp_path / "c1.part").exists()


@pytest.mark.parametrize("damage", ["cut", "flipped"])
def test_a_journal_torn_mid_record_gives_the_packets_before_it(
    tmp_path: Path, sample: tuple[StreamInfo, list[Packet]], damage: str
) -> None:
    """A journal cut inside a packet record, or with a byte of one flipped (its checksum
    fails): the stream gives exactly the packets before it (the same as reading it whole),
    says it was torn, and the finaliser stores the clip of those, logging how many were
    short."""
    info, packets = sample
    journal = _journal(tmp_path / "j", "c2", info, packets)
    at = journal.stat().st_size // 2
    if damage == "cut":
        os.truncate(journal, at)
    else:
        with journal.open("r+b") as f:
            f.seek(at)
            byte = f.read(1)
            f.seek(at)
            f.write(bytes([byte[0] ^ 0xFF]))
    stream = JournalStream(journal)
    got = list(stream)
    assert stream.torn and stream.problem is None
    assert 0 < len(got) < len(packets)
    assert [p.data for p in got] == [p.data for p in read_journal(journal).packets]
    store = ClipStore(tmp_path / "clips", 200 * 1024**2, 86400)
    fin, sent = _finalizer(tmp_path, store)
    job = ClipJob("c2", "cam", info, [], {"e"}, "remux", "capped", 0.0, journal, len(packets))
    with structlog.testing.capture_logs() as logs:
        _, path = fin.process(job)
    (short,) = [e for e in logs if e["event"] == "clip.journal_short"]
    assert (short["wanted"], short["read"]) == (len(packets), len(got))
    assert sent == [path] and _packets_in(path) == len(got)


def _fill_inodes(disk: Path) -> list[Path]:
    """Create empty files on *disk* until it has no inode left (ENOSPC)."""
    made: list[Path] = []
    while True:
        p = disk / f"inode{len(made)}"
        try:
            p.touch()
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
            return made
        made.append(p)


@pytest.mark.faults
def test_a_full_disk_while_writing_loses_nothing(
    tmp_path: Path, sample: tuple[StreamInfo, list[Packet]]
) -> None:
    """The clip store's disk has bytes free but no room for another file (its inodes used
    up): the MP4 cannot be written. The error names the file and the cause, no part file is
    left, the clip is not told as lost: it waits in its journal, and once the disk takes
    files again it is stored and handed on, its journal gone. Retried every second, it is
    logged once (then once a minute), not once per retry."""
    info, packets = sample
    journal = _journal(tmp_path / "j", "c3", info, packets)
    with small_disk(tmp_path / "disk", "16m,nr_inodes=64") as disk:
        store = ClipStore(disk / "clips", 12 * 1024**2, 86400)
        with pytest.raises(ClipDiskError, match=r"c3\.mp4: .*No space left"):
            filler = _fill_inodes(disk)
            write_mp4(store.path_for("c3.mp4"), info, JournalStream(journal))
        assert not list(store.dir.glob("c3.*"))
        fin, sent = _finalizer(tmp_path, store)
        fin.start()
        try:
            with structlog.testing.capture_logs() as logs:
                fin.submit(ClipJob("c3", "cam", info, packets[-10:], {"e"}, "remux", "capped",
                                   0.0, journal, len(packets) - 10))  # fmt: skip
                assert fin.drain(30)
                assert sent == [] and journal.exists() and fin.failed == 0
                assert wait_until(lambda: fin.refused_writes >= 3, 30)  # retried each RETRY_S
                for p in filler:
                    p.unlink()
                assert wait_until(lambda: len(sent) == 1, 30)
        finally:
            assert fin.shutdown(30)
        (refused,) = [e for e in logs if e["event"] == "clip.not_written"]
        assert "No space left" in refused["error"] and refused["kept"] == str(journal)
        assert refused["times"] == 1 and fin.refused_writes >= 3
        assert not journal.exists() and _packets_in(sent[0]) == len(packets)


def test_the_finaliser_runs_at_a_lower_os_priority(tmp_path: Path) -> None:
    """The writer thread is NICE levels less urgent than the thread that started it (Linux
    schedules threads one by one); the rest of the process keeps its priority."""
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    fin, _ = _finalizer(tmp_path, ClipStore(tmp_path / "clips", 1024**2, 86400))
    fin.start()
    try:
        assert wait_until(lambda: fin.native_id is not None)
        assert fin.native_id is not None
        assert os.getpriority(os.PRIO_PROCESS, fin.native_id) == min(19, before + NICE)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
    finally:
        assert fin.shutdown(10)


@pytest.mark.faults
def test_a_journal_left_at_a_start_on_a_full_disk_is_kept_then_made(
    tmp_path: Path, sample: tuple[StreamInfo, list[Packet]]
) -> None:
    """A node died mid-clip and starts again on a disk with no room for a file: the recovered
    clip is not told lost, its journal stays, and it is made once the disk takes files."""
    info, packets = sample
    lost: list[Event] = []
    with small_disk(tmp_path / "disk", "16m,nr_inodes=64") as disk:
        store = ClipStore(disk / "clips", 12 * 1024**2, 86400)
        journal = _journal(store.journal_dir, "c4", info, packets[:200])
        fin, sent = _finalizer(tmp_path, store)
        fin.attach({"cam": ClipRecorder("cam", ClipConfig(), fin.submit, live=False)},
                   EventFactory("n", "s"), lost.append)  # fmt: skip
        filler = _fill_inodes(disk)
        with structlog.testing.capture_logs() as logs:
            fin.start()
            try:
                assert wait_until(lambda: any(e["event"] == "clip.not_written" for e in logs))
                assert sent == [] and journal.exists() and lost == []
                for p in filler:
                    p.unlink()
                assert wait_until(lambda: len(sent) == 1, 30)
            finally:
                assert fin.shutdown(30)
        assert not journal.exists() and lost == [] and _packets_in(sent[0]) == 200
