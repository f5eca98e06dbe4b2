"""What the node delivered in a period, item by item, from its ``shared`` audit records.

An item is ``(type, id)`` with type ``event``, ``clip`` or ``snapshot`` and its ``site``,
``node``, ``camera``, ``kind`` (the event's kind; a snapshot's: the kind of the first event
sent to the same destination naming it (``snapshot_id``); a clip's: the least by name of the
kinds of the events sent there naming it (``clip_id``): as the receiver's export links
them), ``sha256`` (an event: of the message payload as signed and sent; a clip: of the MP4,
its manifest's; a snapshot: of the JPEG) and ``time`` (when it was delivered), plus
``destination`` and ``audit_seq`` (the record that completed the delivery); an event also
its ``sensor`` (a GPIO sensor's event has no camera).
A field the chain does not give is ``None``, never a guess.

An event or snapshot is delivered when its ``shared`` record is written; a clip when its
manifest and every chunk are (at the record of the last of them). Each item is listed once
per destination in a period (a message sent again after a restart is recorded again)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from edge.report.chainfile import Line
from edge.report.shapes import ReportItem
from edge.wire.ids import MessageId, Part

UNKNOWN = "?"
"""The key counts use for a camera or kind the chain does not name."""
SENSOR = "sensor:"
"""Before a sensor's name in counts: its events have no camera (``sensor:door-main``)."""


@dataclass
class _Clip:
    parts: set[int] = field(default_factory=set)
    chunks: int | None = None
    manifest: bool = False
    camera: str | None = None
    sha256: str | None = None
    seqs: list[int] = field(default_factory=list)
    done: bool = False


@dataclass
class Delivered:
    """The items delivered in a period and the audit records they rest on."""

    items: list[ReportItem]
    seqs: set[int]
    """Every record an item was read from (the report's chain covers them)."""


Seen = dict[tuple[str, str], tuple[str, int]]
"""(destination, id) -> (what, seq of the first record naming it)."""


def _index(lines: Sequence[Line]) -> tuple[Seen, Seen, dict[tuple[str, str], list[tuple[str, int]]],
                                          dict[str, Line]]:  # fmt: skip
    """Per destination: event kinds by event id, the first event naming each snapshot, the
    kinds of the events naming each clip (the receiver links them the same way: by the
    event's ``snapshot_id`` and ``clip_id``); and ``recorded`` clip records by clip id."""
    kinds: Seen = {}
    snapshot_event: Seen = {}
    clip_kinds: dict[tuple[str, str], list[tuple[str, int]]] = {}
    recorded: dict[str, Line] = {}
    for line in lines:
        r = line.record
        if r.get("action") == "recorded" and r.get("kind") == "clip":
            recorded.setdefault(str(r.get("id")), line)
        if r.get("action") != "shared" or not r.get("event_kind"):
            continue
        dest, kind = str(r.get("destination")), str(r["event_kind"])
        kinds.setdefault((dest, str(r["id"])), (kind, line.seq))
        if r.get("snapshot_id"):
            snapshot_event.setdefault((dest, str(r["snapshot_id"])), (str(r["id"]), line.seq))
        if r.get("clip_id"):
            clip_kinds.setdefault((dest, str(r["clip_id"])), []).append((kind, line.seq))
    return kinds, snapshot_event, clip_kinds, recorded


def _item(type_: str, item_id: str, line: Line, kind: str | None) -> ReportItem:
    """The item *line*'s record delivered (its camera and sha256 as the record says)."""
    rec = line.record
    return {
        "type": type_,
        "id": item_id,
        "site": None,
        "node": None,
        "camera": rec.get("camera"),
        "kind": kind,
        "sha256": rec.get("sha256"),
        "time": rec.get("time"),
        "destination": rec.get("destination"),
        "audit_seq": rec.get("seq"),
    }


def delivered(
    lines: Sequence[Line],
    since: float,
    until: float,
    destination: str | None = None,
    *,
    site: str | None = None,
    node: str | None = None,
) -> Delivered:
    """The items delivered from *since* (inclusive) to *until* (exclusive), to *destination*
    or to every destination, in the order they were delivered."""
    kinds, snapshot_event, clip_kinds, recorded = _index(lines)
    clips: dict[tuple[str, str], _Clip] = defaultdict(_Clip)
    seen: set[tuple[str, str, str]] = set()
    items: list[ReportItem] = []
    seqs: set[int] = set()

    def keep(item: ReportItem, used: Iterable[int]) -> None:
        key = (item["type"], item["id"], str(item["destination"]))
        if since <= float(item["time"] or 0) < until and key not in seen:
            seen.add(key)
            item["site"], item["node"] = site, node
            items.append(item)
            seqs.update(used)

    for line in lines:
        r = line.record
        dest = r.get("destination")
        if r.get("action") != "shared" or (destination is not None and dest != destination):
            continue
        try:
            mid = MessageId.parse(str(r.get("id")))
        except ValueError:
            continue
        if mid.part is Part.EVENT:
            sent = _item("event", mid.ref, line, r.get("event_kind") or r.get("kind"))
            sent["sensor"] = r.get("sensor")
            keep(sent, [line.seq])
        elif mid.part is Part.SNAPSHOT:
            event, named_at = snapshot_event.get((str(dest), mid.ref), ("", 0))
            kind: str | None
            kind, kind_at = kinds.get((str(dest), event), (None, 0))
            used = [line.seq, *(s for s in (named_at, kind_at) if s)]
            keep(_item("snapshot", mid.ref, line, kind), used)
        elif mid.clip_id is not None:
            clip = clips[(mid.clip_id, str(dest))]
            _take_part(clip, mid, line)
            if clip.done or not _complete(clip):
                continue
            clip.done = True
            rec_line = recorded.get(mid.clip_id)
            used = list(clip.seqs)
            if clip.sha256 is None and rec_line is not None:
                clip.sha256 = rec_line.record.get("sha256")
                used.append(rec_line.seq)
            if clip.camera is None and rec_line is not None:
                clip.camera = rec_line.record.get("camera")
            known = clip_kinds.get((str(dest), mid.clip_id), [])
            kind = min((k for k, _ in known), default=None)
            used += [at for _, at in known]
            item = _item("clip", mid.clip_id, line, kind)
            item["camera"], item["sha256"] = clip.camera, clip.sha256
            keep(item, used)
    return Delivered(items, seqs)


def _take_part(clip: _Clip, mid: MessageId, line: Line) -> None:
    rec, seq = line.record, line.seq
    if mid.part is Part.MANIFEST:
        if not clip.manifest:
            clip.seqs.append(seq)
        clip.manifest = True
        clip.camera = rec.get("camera") or clip.camera
        clip.sha256 = rec.get("clip_sha256") or clip.sha256
        chunks = rec.get("chunks")
        clip.chunks = int(str(chunks)) if str(chunks or "").isdigit() else None
    elif mid.chunk not in clip.parts:
        clip.parts.add(mid.chunk)
        clip.seqs.append(seq)


def _complete(clip: _Clip) -> bool:
    """The manifest and every chunk are recorded (the number of chunks unknown: the
    manifest and at least one chunk, and no gap)."""
    if not clip.manifest or not clip.parts:
        return False
    if clip.chunks is not None:
        return clip.parts >= set(range(clip.chunks))
    return clip.parts == set(range(max(clip.parts) + 1))


def counts(items: Iterable[ReportItem]) -> dict[str, dict[str, dict[str, int]]]:
    """Events delivered per destination, camera (a sensor's: ``sensor:NAME``) and kind
    (``?``: not named by the chain)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for item in items:
        if item["type"] != "event":
            continue
        by_camera = out.setdefault(str(item["destination"]), {})
        sensor = item.get("sensor")
        source = item["camera"] or (f"{SENSOR}{sensor}" if sensor else UNKNOWN)
        by_kind = by_camera.setdefault(source, {})
        kind = item["kind"] or UNKNOWN
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return out
