"""The clip being cut is journaled as it grows: what a killed node leaves on disk becomes a
playable, signed clip at the next start (its torn tail dropped), or a ``clip_lost`` event
with its camera and time range when nothing playable is left; a stored clip's journal goes."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import av
import jsonschema
import numpy as np
import pytest
import structlog
import synth
from conftest import ROOT
from timing import wait_until

from edge.capture.file import FileInput
from edge.capture.frame import Packet, Role, StreamInfo
from edge.clips.finalize import ClipFinalizer
from edge.clips.journal import MAGIC, leftovers, named, read_journal
from edge.clips.recorder import ClipJob, ClipRecorder
from edge.clips.store import ClipStore
from edge.config.clips import ClipConfig
from edge.core.errors import OutboxError
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey
from edge.evidence.manifest import verify_clip

ONE_BY_ONE = "one-by-one-person-detection.mp4"
pytestmark = pytest.mark.faults
CFG = ClipConfig(pre_roll_s=5, post_roll_s=5, max_s=120)


class Parts:
    """A store, key and audit log in a temp dir, and finalizers over them (one per "start"),
    with what they hand on and report."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.store = ClipStore(tmp / "clips", 200 * 1024**2, 86400)
        self.key = NodeKey.create(tmp / "key.pem")
        self.audit = AuditLog(tmp / "audit.log")
        self.sent: list[tuple[dict[str, Any], Path]] = []
        self.events: list[Event] = []

    def finalizer(
        self, cameras: tuple[str, ...] = ("cam",), mask_hash: str | None = None
    ) -> ClipFinalizer:
        """A finalizer attached to fresh recorders of *cameras* (as the node wires it), their
        privacy mask's hash *mask_hash*."""
        fin = ClipFinalizer(
            self.store, self.key, self.audit, node="n", site="s",
            mask_hashes={c: mask_hash for c in cameras},
            on_clip=lambda signed, path: self.sent.append((signed, path)),
        )  # fmt: skip
        recorders = {c: ClipRecorder(c, CFG, fin.submit, live=False, fps=10) for c in cameras}
        fin.attach(recorders, EventFactory("n", "s"), self.events.append)
        return fin

    def lost(self) -> list[Event]:
        """The clip_lost events reported so far."""
        return [e for e in self.events if e.kind == "clip_lost"]


def _record_until(rec: ClipRecorder, source: Path, trigger: float, until: float) -> str:
    """Replay *source* into *rec*, hold a clip at stream time *trigger* and stop feeding at
    *until* with the clip still open (as a node killed then leaves it); returns its id."""
    clip_id = None
    for item in FileInput("cam", source, roles=Role.RECORD).stream():
        rec.feed(item)
        if clip_id is None and rec.info is not None and rec.now() >= trigger:
            clip_id = rec.hold("person-1", "event-1", t=trigger)
            rec.hold("person-1", "event-2")  # an update: the clip records it too
        if rec.now() >= until:
            break
    assert clip_id is not None
    return clip_id


def _killed_mid_clip(parts: Parts, videos: Path) -> tuple[str, list[Packet]]:
    """A recorder journaling a clip held at 9.3 s, abandoned at 20 s of stream time."""
    fin = parts.finalizer()
    rec = ClipRecorder("cam", CFG, fin.submit, live=False, fps=10)
    fin.attach({"cam": rec}, EventFactory("n", "s"), parts.events.append)
    clip_id = _record_until(rec, videos / ONE_BY_ONE, 9.3, 20.0)
    packets = list(rec._packets)
    assert rec._journal is not None
    rec._journal.close()  # the process is gone: nothing more is written
    return clip_id, packets


def test_a_clip_cut_short_by_a_kill_is_recovered_playable_and_signed(
    tmp_path: Path, videos: Path
) -> None:
    """Killed 10.7 s into a held clip: the next start makes the clip from its journal (same
    id, both events, pre-roll from a keyframe to the last packet written), signed, audited
    as recovered, handed on for delivery, logged clip.recovered; the journal is gone and
    PyAV decodes every packet of it."""
    parts = Parts(tmp_path)
    clip_id, packets = _killed_mid_clip(parts, videos)
    assert [named(p) for p in leftovers(parts.store.journal_dir)] == [(clip_id, "cam")]
    with structlog.testing.capture_logs() as logs:
        fin = parts.finalizer()
        fin.start()
        assert fin.shutdown(60)
    assert fin.recovered == 1 and parts.lost() == []
    ((signed, path),) = parts.sent
    m = signed["manifest"]
    verify_clip(signed, parts.key.public, path)
    assert m["clip_id"] == clip_id and set(m["event_ids"]) == {"event-1", "event-2"}
    assert m["start"] == pytest.approx(packets[0].wall, abs=0.01)
    assert m["end"] == pytest.approx(packets[-1].wall, abs=0.01)
    assert packets[0].keyframe and packets[0].pts <= 9.3 - 5 and packets[-1].pts >= 19.8
    with av.open(str(path)) as c:
        decoded = sum(1 for _ in c.decode(c.streams.video[0]))
    assert decoded == len(packets)
    assert leftovers(parts.store.journal_dir) == []
    recorded = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert any(r.get("id") == clip_id and r.get("recovered") is True for r in recorded)
    (line,) = [e for e in logs if e["event"] == "clip.recovered"]
    assert line["clip"] == clip_id and line["cut"] is None and line["packets"] == len(packets)


def _record_offsets(journal: bytes, kind: bytes) -> list[int]:
    """Where the records of *kind* begin in a journal."""
    out, pos = [], len(MAGIC)
    while pos < len(journal):
        k, size, _crc = struct.unpack_from(">cII", journal, pos)
        if k == kind:
            out.append(pos)
        pos += 9 + size
    return out


def test_every_torn_tail_gives_a_prefix_or_a_lost_clip_with_its_range(
    tmp_path: Path, videos: Path
) -> None:
    """The journal cut at any byte (a power cut mid-write): reading never fails; what is left
    becomes a clip of the packets before the cut, or, with no whole keyframe left, a
    clip_lost event naming the camera, the clip and its time range, valid by the schema."""
    clip_id, _ = _killed_mid_clip(Parts(tmp_path / "killed"), videos)
    (journal,) = leftovers(tmp_path / "killed" / "clips" / "journal")
    whole = journal.read_bytes()
    full = read_journal(journal)
    assert full.header is not None and not full.torn and full.event_ids
    first = _record_offsets(whole, b"P")[0]  # events, then packets
    first_end = first + 9 + 33 + len(full.packets[0].data)
    schema = json.loads((ROOT / "edge" / "schemas" / "event.schema.json").read_text())
    for cut in (5, 60, first - 1, first_end - 1, first_end + 100, len(whole) // 2, len(whole) - 3):
        parts = Parts(tmp_path / f"cut-{cut}")
        parts.store.journal_dir.mkdir()
        torn = parts.store.journal_dir / journal.name
        torn.write_bytes(whole[:cut])
        c = read_journal(torn)
        assert c.torn or c.problem
        fin = parts.finalizer()
        fin.start()
        assert fin.shutdown(60)
        assert leftovers(parts.store.journal_dir) == []
        assert cut < first or "event-1" in c.event_ids  # written before the packets
        if c.packets:
            ((signed, path),) = parts.sent
            assert signed["manifest"]["clip_id"] == clip_id
            with av.open(str(path)) as f:
                assert sum(1 for _ in f.decode(f.streams.video[0])) == len(c.packets)
        else:
            (lost,) = parts.lost()
            assert (lost.camera, lost.clip_id) == ("cam", clip_id)
            assert lost.data["reason"] in {"unreadable", "nothing_playable"}
            assert lost.data["start"] <= lost.data["end"]
            jsonschema.validate(lost.to_dict(), schema)


def test_a_stored_clip_leaves_no_journal_and_a_withheld_one_drops_it(
    tmp_path: Path, videos: Path
) -> None:
    """A clip cut and stored as usual: its journal is gone, nothing is recovered at the next
    start. A cut withheld on purpose (a blocked camera) drops its journal too."""
    parts = Parts(tmp_path)
    fin = parts.finalizer()
    rec = ClipRecorder("cam", CFG, fin.submit, live=False, fps=10)
    fin.attach({"cam": rec}, EventFactory("n", "s"), parts.events.append)
    fin.start()
    _record_until(rec, videos / ONE_BY_ONE, 9.3, 12.0)
    rec.close()
    assert fin.shutdown(60)
    assert len(parts.sent) == 1 and leftovers(parts.store.journal_dir) == []
    withheld: list[ClipJob] = []
    rec = ClipRecorder("cam", CFG, withheld.append, live=False, fps=10)
    fin.attach({"cam": rec}, EventFactory("n", "s"), parts.events.append)
    _record_until(rec, videos / ONE_BY_ONE, 9.3, 12.0)
    rec.close()
    (job,) = withheld
    assert job.journal is not None and job.journal.exists()
    job.drop_journal()
    assert leftovers(parts.store.journal_dir) == []


@pytest.mark.parametrize("why", ["camera_not_running", "mask_changed"])
def test_a_journal_not_to_be_shared_now_is_told_as_lost(
    why: str, tmp_path: Path, videos: Path
) -> None:
    """A journal of a camera that no longer runs, or whose mask changed since: not made (it
    would share what the camera may not share now), told as clip_lost with the range."""
    parts = Parts(tmp_path)
    clip_id, packets = _killed_mid_clip(parts, videos)
    fin = parts.finalizer(cameras=("other",) if why == "camera_not_running" else ("cam",))
    if why == "mask_changed":
        fin.mask_hashes["cam"] = "0" * 64
    fin.start()
    assert fin.shutdown(60)
    assert parts.sent == []
    (lost,) = parts.lost()
    assert lost.clip_id == clip_id and lost.camera == "cam" and lost.data["reason"] == why
    assert lost.data["seconds"] == pytest.approx(packets[-1].wall - packets[0].wall, abs=0.01)
    assert leftovers(parts.store.journal_dir) == []


def test_a_clip_that_cannot_be_written_is_told_as_lost(tmp_path: Path, videos: Path) -> None:
    """A cut the finalizer cannot write (it does not start at a keyframe) is a clip_lost event
    with its camera, range and events."""
    parts = Parts(tmp_path)
    fin = parts.finalizer()
    fin.start()
    info = next(
        i
        for i in FileInput("cam", videos / ONE_BY_ONE, roles=Role.RECORD).stream()
        if isinstance(i, StreamInfo)
    )
    bad = [Packet("cam", b"\x00\x00\x00\x01\x41junk", t, t, False, t, 1.7e9 + t) for t in (0, 1)]
    fin.submit(ClipJob("c-bad", "cam", info, bad, {"e"}, "remux", "post_roll", 0.0))
    assert fin.shutdown(30)
    (lost,) = parts.lost()
    assert (lost.clip_id, lost.camera, lost.data["reason"]) == ("c-bad", "cam", "not_written")
    assert lost.data["event_ids"] == ["e"] and lost.data["seconds"] == 1.0


def test_a_journal_that_cannot_be_written_leaves_the_clip_in_memory(
    tmp_path: Path, videos: Path
) -> None:
    """The journal directory is unusable: logged once (clip.journal_failed), and the clip is
    cut and stored as before."""
    parts = Parts(tmp_path)
    fin = parts.finalizer()
    rec = ClipRecorder("cam", CFG, fin.submit, live=False, fps=10)
    fin.attach({"cam": rec}, EventFactory("n", "s"), parts.events.append)
    parts.store.journal_dir.rmdir()
    parts.store.journal_dir.write_text("not a directory")
    fin.start()
    with structlog.testing.capture_logs() as logs:
        _record_until(rec, videos / ONE_BY_ONE, 9.3, 12.0)
        rec.close()
    assert fin.shutdown(60)
    assert [e["event"] for e in logs].count("clip.journal_failed") == 1
    assert len(parts.sent) == 1 and parts.lost() == []


def test_on_a_nearly_full_disk_the_journal_gives_way_to_events(
    tmp_path: Path, videos: Path
) -> None:
    """Less free space than clips.keep_free_bytes: the journal is given up and removed at the
    first keyframe (logged), and the clip the store then cannot keep is told as clip_lost."""
    parts = Parts(tmp_path)
    parts.store = ClipStore(tmp_path / "clips", 200 * 1024**2, 86400, keep_free_bytes=1 << 60)
    fin = parts.finalizer()
    rec = ClipRecorder("cam", CFG, fin.submit, live=False, fps=10)
    fin.attach({"cam": rec}, EventFactory("n", "s"), parts.events.append)
    fin.start()
    with structlog.testing.capture_logs() as logs:
        clip_id = _record_until(rec, videos / ONE_BY_ONE, 9.3, 12.0)
        assert leftovers(parts.store.journal_dir) == []
        rec.close()
        assert fin.shutdown(60)
    (failed,) = [e for e in logs if e["event"] == "clip.journal_failed"]
    assert "disk nearly full" in failed["error"]
    (lost,) = parts.lost()
    assert lost.clip_id == clip_id and lost.data["reason"] == "not_written"


def test_a_masked_cameras_encoded_clip_is_recovered_too(tmp_path: Path) -> None:
    """A masked camera (its clips encoded from masked frames): killed mid-clip, its clip is
    recovered (method encode, its mask hash), decodes, and shows nothing of the private area."""
    parts = Parts(tmp_path)
    spec = synth.mask_spec()
    fin = parts.finalizer(mask_hash=spec.digest)
    rec = ClipRecorder("cam", CFG, fin.submit, live=False, fps=synth.FPS)
    fin.attach({"cam": rec}, EventFactory("n", "s"), parts.events.append)
    video = synth.write_video(tmp_path / "s.mp4", frames=80)
    clip_id = None
    for item in FileInput("cam", video, roles=Role.RECORD, mask=spec).stream():
        rec.feed(item)
        if clip_id is None and rec.info is not None and rec.now() >= 3.0:
            clip_id = rec.hold("person-1", "event-1")
        if rec.now() >= 6.0:
            break
    assert clip_id is not None and rec._journal is not None
    rec._journal.close()  # killed: the encoder's last packets are in the journal or lost
    rec.stopping.set()
    rec._frames.close()
    fin = parts.finalizer(mask_hash=spec.digest)
    fin.start()
    assert fin.shutdown(60)
    ((signed, path),) = parts.sent
    assert signed["manifest"]["clip_id"] == clip_id
    assert signed["manifest"]["method"] == "encode"
    assert signed["manifest"]["mask_hash"] == spec.digest
    verify_clip(signed, parts.key.public, path)
    x0, y0, x1, y1 = synth.PRIVATE
    with av.open(str(path)) as c:
        frames = [
            f.to_ndarray(format="bgr24").astype(np.uint8) for f in c.decode(c.streams.video[0])
        ]
    assert len(frames) >= 20
    for f in frames:
        assert synth.match_score(f) < 0.5
        assert f[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4].max() < 24


def test_a_clip_the_outbox_cannot_take_is_queued_later_or_at_the_next_start(
    tmp_path: Path, videos: Path
) -> None:
    """The outbox refuses the stored clip (a full disk): it is handed on again every second
    and its journal goes once that works; still refused at the stop, the journal stays and
    the next start queues the stored clip (not made twice, not lost)."""
    parts = Parts(tmp_path)
    refusals = [3]

    def full_then_room(signed: dict[str, Any], path: Path) -> None:
        if refusals[0] > 0:
            refusals[0] -= 1
            raise OutboxError("outbox.sqlite: cannot store message: database or disk is full")
        parts.sent.append((signed, path))

    fin = parts.finalizer()
    fin.on_clip = full_then_room
    rec = ClipRecorder("cam", CFG, fin.submit, live=False, fps=10)
    fin.attach({"cam": rec}, EventFactory("n", "s"), parts.events.append)
    fin.start()
    _record_until(rec, videos / ONE_BY_ONE, 9.3, 12.0)
    rec.close()
    assert wait_until(lambda: parts.sent, 10)
    assert refusals == [0] and leftovers(parts.store.journal_dir) == []
    assert fin.shutdown(10)

    refusals[0] = 1000  # the disk stays full to the stop
    parts.sent.clear()
    fin = parts.finalizer()
    fin.on_clip = full_then_room
    rec = ClipRecorder("cam", CFG, fin.submit, live=False, fps=10)
    fin.attach({"cam": rec}, EventFactory("n", "s"), parts.events.append)
    fin.start()
    clip_id = _record_until(rec, videos / ONE_BY_ONE, 9.3, 12.0)
    rec.close()
    assert fin.shutdown(10)
    assert parts.sent == [] and len(leftovers(parts.store.journal_dir)) == 1
    with structlog.testing.capture_logs() as logs:
        fin = parts.finalizer()  # the next start, room again
        fin.start()
        assert fin.shutdown(30)
    ((signed, _),) = parts.sent
    assert signed["manifest"]["clip_id"] == clip_id and parts.lost() == []
    assert [e.get("already_stored") for e in logs if e["event"] == "clip.recovered"] == [True]
    assert leftovers(parts.store.journal_dir) == []
