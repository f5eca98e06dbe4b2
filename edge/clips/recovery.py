"""At start: the clips of the journals a node that died left behind (SIGKILL, a crash, the
watchdog, a power cut), made from what is on disk into playable, signed clips covering what
was recorded, with the clip ids their events already carry. A journal from which nothing
playable can be made is reported as a ``clip_lost`` event with its camera and range. Either
way one log line per journal (``clip.recovered`` or ``clip.lost``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from edge.clips.journal import JournalContents, discard, named, read_journal
from edge.clips.lost import LostClip, not_signed
from edge.clips.mp4 import ClipDiskError
from edge.clips.recorder import ClipJob
from edge.clips.store import ClipStore
from edge.core.logs import get_logger
from edge.events.model import utc_iso
from edge.evidence.keys import SigningKeyError

log = get_logger(__name__)

RECOVERED = "recovered"
"""``ClipJob.reason`` of a clip the node died while cutting."""


class ClipFinalizer(Protocol):
    """What recovery uses of the finalizer (``edge.clips.finalize.ClipFinalizer``)."""

    store: ClipStore
    mask_hashes: dict[str, str | None]

    @property
    def cameras(self) -> frozenset[str] | None:
        """Cameras running now (None: any)."""
        ...

    def lost(self, lost: LostClip) -> None:
        """Tell that a clip is lost."""
        ...

    def process(self, job: ClipJob, **audit: Any) -> tuple[dict[str, Any], Path]:
        """Write, sign, store and hand on a clip."""
        ...

    def hand_on(self, signed: dict[str, Any], path: Path, journal: Path | None) -> None:
        """Queue a stored clip, then remove its journal."""
        ...

    def not_written(self, job: ClipJob, error: str) -> None:
        """The disk refused the clip: keep its journal and write it again later."""
        ...


def recover(fin: ClipFinalizer, paths: list[Path]) -> int:
    """Recover every journal in *paths* through *fin*; returns how many clips were made (or
    found already made). Each journal is removed once its clip is made or its loss told."""
    made = 0
    for path in paths:
        try:
            made += _one(fin, path)
        except Exception as e:  # one bad journal must not keep the others from recovery
            log.exception("clip.recovery_crashed", path=str(path))
            _lose(fin, JournalContents(path, None), "unreadable", f"{type(e).__name__}: {e}")
    return made


def _lose(fin: ClipFinalizer, c: JournalContents, reason: str, detail: str) -> int:
    start, end = c.span
    h = c.header
    clip_id, camera = (h.clip_id, h.camera) if h else named(c.path)
    fin.lost(LostClip(clip_id, camera, start, end, reason, detail, frozenset(c.event_ids)))
    discard(c.path)
    return 0


def _withheld(fin: ClipFinalizer, c: JournalContents) -> tuple[str, str] | None:
    """Why the journal's clip is not to be made (reason, detail), or None."""
    h = c.header
    if h is None:
        return "unreadable", c.problem or "no header"
    if fin.cameras is not None and h.camera not in fin.cameras:
        why = f"camera {h.camera!r} does not run now (removed, private or blocked): not shared"
        return "camera_not_running", why
    if h.mask_hash != fin.mask_hashes.get(h.camera):
        return "mask_changed", "the camera's privacy mask changed since it was recorded"
    if not any(p.keyframe for p in c.packets):
        return "nothing_playable", f"no keyframe in {len(c.packets)} packets"
    return None


def _one(fin: ClipFinalizer, path: Path) -> int:
    c = read_journal(path)
    withheld = _withheld(fin, c)
    if withheld is not None:
        return _lose(fin, c, *withheld)
    h = c.header
    assert h is not None
    if _requeued(fin, c):
        return 1
    first = next(i for i, p in enumerate(c.packets) if p.keyframe)
    packets = c.packets[first:]
    job = ClipJob(h.clip_id, h.camera, h.info, packets, set(c.event_ids), h.method,
                  c.closed or RECOVERED, h.trigger_t, path)  # fmt: skip
    try:
        signed, _ = fin.process(job, recovered=True)
    except SigningKeyError as e:  # kept for a start with a key: not lost
        not_signed(h.camera, h.clip_id, str(e))
        return 0
    except ClipDiskError as e:  # the disk refused it (full): written again when it takes it
        fin.not_written(job, str(e))
        return 0
    except Exception as e:  # an unwritable clip (no SPS/PPS, disk) is a clip lost
        return _lose(fin, c, "not_written", f"{type(e).__name__}: {e}")
    log.info(
        "clip.recovered",
        camera=h.camera,
        clip=h.clip_id,
        packets=len(packets),
        seconds=signed["manifest"]["duration_s"],
        start=utc_iso(packets[0].wall),
        end=utc_iso(packets[-1].wall),
        cut=c.closed,
        torn=c.torn,
        events=len(c.event_ids),
    )
    return 1


def _requeued(fin: ClipFinalizer, c: JournalContents) -> bool:
    """The clip was stored before the node died (its journal not yet gone): hand it on again
    (the outbox takes a message it has once; receivers drop duplicates by id)."""
    assert c.header is not None
    clip_id = c.header.clip_id
    clip, manifest = fin.store.get(clip_id), fin.store.get(f"{clip_id}.manifest")
    if clip is None or manifest is None or not clip.path.exists():
        return False
    try:
        signed = json.loads(manifest.path.read_text())
    except (OSError, ValueError):
        return False
    log.info("clip.recovered", camera=c.header.camera, clip=clip_id, already_stored=True)
    fin.hand_on(signed, clip.path, c.path)
    return True
