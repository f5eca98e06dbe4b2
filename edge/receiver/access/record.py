"""Recording every access to shared material in the receiver's signed audit chain, before a
byte of it is served (fail-closed): an alert's detail viewed and evidence downloaded are
each one chain record, committed before the page or the zip is sent; a clip's Range
requests (and a snapshot's repeated showings) of one viewing are kept in
``access_viewings``, committed before the bytes are sent, and chained as ONE record with
their merged byte ranges when the viewing ends: no request of the same user on the same
item for :data:`GAP_S` seconds, the receiver stopping, or the next start.

Whatever cannot be recorded (the chain does not end at its signed head, the disk is full,
the database refuses) raises :class:`AccessNotRecorded`: the caller serves nothing.

Records (``kind`` ``access``): ``action`` one of :data:`ACTIONS`, ``id`` the item's id,
``sha256`` the item's, fields ``user``, ``role``, ``site``, ``node``, ``type`` (``event``,
``clip``, ``snapshot``, or ``incident`` for an incident's page, whose ``node`` is null and
which names ``nodes`` and ``events``); viewings add ``ranges`` (byte offsets ``[start, end)``,
``ranges_unit`` ``bytes``), ``size``, ``requests``, ``started``, ``ended``, ``ended_by``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from edge.core.errors import EdgeError
from edge.core.logs import get_logger
from edge.receiver.ackaudit.appender import Appender
from edge.receiver.ackaudit.chain import ChainWriter
from edge.receiver.store import accessrows
from edge.receiver.store.database import Cursor, Database

log = get_logger(__name__)

ACCESS = "access"
"""The ``kind`` of an access record."""
VIEW_DETAIL, VIEW_SNAPSHOT = "view_detail", "view_snapshot"
PLAY_CLIP, DOWNLOAD_EVIDENCE = "play_clip", "download_evidence"
ACTIONS = (VIEW_DETAIL, VIEW_SNAPSHOT, PLAY_CLIP, DOWNLOAD_EVIDENCE)
TYPES = ("event", "clip", "snapshot", "incident")
"""What an access is to; ``incident``: an incident's page (its ``node`` null: it may span
several; its record names them and the events shown)."""
GAP_S = 300.0
"""A viewing ends after this long without a request of its user on its item."""
LONGEST_S = 3600.0
"""A viewing is chained after this long even while it goes on (a console left showing a
snapshot); its next request starts another."""
MAX_INTERVALS = 64
"""A viewing keeps at most this many separate byte ranges (the closest are joined)."""

Range = tuple[int, int]


class AccessNotRecorded(EdgeError):
    """The access could not be recorded durably; nothing of the item may be served."""


@dataclass(frozen=True, slots=True)
class Item:
    """Shared material: ``type`` event|clip|snapshot, its id, where from, its sha256."""

    type: str
    id: str
    site: str
    node: str | None
    sha256: str | None


def merge(ranges: Sequence[Sequence[int]], limit: int = MAX_INTERVALS) -> list[list[int]]:
    """*ranges* (``[start, end)``) sorted and merged where they overlap or touch; more than
    *limit* are reduced by joining across the smallest gaps (never losing a byte)."""
    spans = sorted((int(a), int(b)) for a, b in ranges if int(b) > int(a) >= 0)
    out: list[list[int]] = []
    for a, b in spans:
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    while len(out) > limit:
        i = min(range(len(out) - 1), key=lambda k: out[k + 1][0] - out[k][1])
        out[i : i + 2] = [[out[i][0], out[i + 1][1]]]
    return out


def _ranges(text: object) -> list[list[int]]:
    try:
        value = json.loads(str(text))
        return merge([(int(a), int(b)) for a, b in value])
    except (ValueError, TypeError):
        return []


class Recorder:
    """Records accesses through *appender* (the receiver's chain) in *db*."""

    def __init__(
        self,
        db: Database,
        appender: Appender,
        gap_s: float = GAP_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db, self.appender, self.gap_s, self.clock = db, appender, gap_s, clock

    def _failed(self, what: str, item: Item | None, user: str, e: BaseException) -> NoReturn:
        log.error("access.not_recorded", what=what, user=user,
                  item=None if item is None else f"{item.type}:{item.site}/{item.node}/{item.id}",
                  error=f"{type(e).__name__}: {e}")  # fmt: skip
        raise AccessNotRecorded(
            f"the access could not be recorded in the audit chain ({type(e).__name__}: {e}); "
            "nothing is shown until it can be"
        ) from e

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (EdgeError, OSError, *self.db.errors)

    def record(
        self, action: str, item: Item, *, user: str, role: str, **extra: object
    ) -> dict[str, object]:
        """Chain one access now (committed when this returns); ended viewings go first.
        Raises :class:`AccessNotRecorded`."""
        now = self.clock()
        try:
            with self.appender.transaction() as (cur, chain):
                self._chain_viewings(cur, chain, now - self.gap_s, "gap")
                rec = _append(cur, chain, action, item, user=user, role=role, when=now, **extra)
        except self._errors() as e:
            self._failed(action, item, user, e)
        log.info("access.recorded", action=action, user=user, type=item.type, id=item.id,
                 seq=rec["seq"])  # fmt: skip
        return rec

    def view(
        self,
        item: Item,
        *,
        user: str,
        role: str,
        ranges: Sequence[Range],
        size: int | None,
        viewing: str | None = None,
    ) -> None:
        """Keep *ranges* of *item* served to *user* in their viewing (a new one when the
        last request is older than the gap or *viewing* differs), committed before this
        returns; viewings that ended are chained in the same transaction. Raises
        :class:`AccessNotRecorded`."""
        now = self.clock()
        try:
            with self.appender.transaction() as (cur, chain):
                self._chain_viewings(cur, chain, now - self.gap_s, "gap")
                self._keep(cur, item, user=user, role=role, ranges=ranges, size=size,
                           viewing=viewing, now=now)  # fmt: skip
        except self._errors() as e:
            self._failed("viewing", item, user, e)

    def _keep(
        self, cur: Cursor, item: Item, *, user: str, role: str, ranges: Sequence[Range],
        size: int | None, viewing: str | None, now: float,
    ) -> None:  # fmt: skip
        sha = item.sha256 or item.id
        row = accessrows.open_viewing(cur, user, (item.type, sha, item.site, item.node),
                                      last_after=now - self.gap_s,
                                      started_after=now - LONGEST_S)  # fmt: skip
        if row is not None and (viewing is None or row[2] in (None, viewing)):
            merged = merge([*_ranges(row[1]), *ranges])
            accessrows.extend_viewing(cur, row[0], now, json.dumps(merged), viewing)
            return
        accessrows.add_viewing(cur, {
            "username": user, "role": role, "type": item.type, "site": item.site,
            "node": item.node, "item_id": item.id, "sha256": sha, "viewing": viewing,
            "started": now, "ranges": json.dumps(merge(ranges)), "size": size,
        })  # fmt: skip

    def chain_ended(self, *, everything: bool = False, why: str = "gap") -> int:
        """Chain the viewings that ended (all of them with *everything*: the receiver
        stops, or starts again after a stop); returns how many. Raises
        :class:`AccessNotRecorded` when the chain cannot take them (they stay pending)."""
        before = float("inf") if everything else self.clock() - self.gap_s
        try:
            with self.appender.transaction() as (cur, chain):
                n = self._chain_viewings(cur, chain, before, why)
        except self._errors() as e:
            self._failed("pending viewings", None, "", e)
        if n:
            log.info("access.viewings_chained", count=n, why=why)
        return n

    def _chain_viewings(self, cur: Cursor, chain: ChainWriter, before: float, why: str) -> int:
        rows = accessrows.ended_viewings(cur, before, self.clock() - LONGEST_S)
        for v in rows:
            ended_by = why if float(v["last"]) < before else "length"
            action = PLAY_CLIP if v["type"] == "clip" else VIEW_SNAPSHOT
            sha = str(v["sha256"]) if v["sha256"] != v["item_id"] else None
            item = Item(str(v["type"]), str(v["item_id"]), str(v["site"]), str(v["node"]), sha)
            extra: dict[str, object] = {
                "requests": int(v["requests"]), "started": float(v["started"]),
                "ended": float(v["last"]), "ended_by": ended_by,
            }  # fmt: skip
            if v["type"] == "clip":
                extra.update(ranges=_ranges(v["ranges"]), ranges_unit="bytes", size=v["size"])
            if v["viewing"]:
                extra["viewing"] = str(v["viewing"])
            _append(cur, chain, action, item, user=str(v["username"]), role=str(v["role"]),
                    when=float(v["started"]), **extra)  # fmt: skip
            accessrows.drop_viewing(cur, v["seq"])
        return len(rows)


def _append(
    cur: Cursor, chain: ChainWriter, action: str, item: Item, *, user: str, role: str,
    when: float, **extra: object,
) -> dict[str, object]:  # fmt: skip
    rec = chain.append(action, ACCESS, item.id, item.sha256 or "", when=round(when, 3),
                       user=user, role=role, site=item.site, node=item.node, type=item.type,
                       receiver=chain.receiver, **extra)  # fmt: skip
    accessrows.index_access(cur, rec, action, user, (item.type, item.id, item.site, item.node))
    return rec


def pending(db: Database) -> list[dict[str, Any]]:
    """The viewings not chained yet (newest first), their ranges parsed."""
    return [{**v, "ranges": _ranges(v["ranges"])} for v in accessrows.viewings(db)]
