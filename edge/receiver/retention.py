"""Retention by agreement: the receiver deletes clips and snapshots ``[retention] days``
after it stored them (a clip: when it was assembled, or a chunk of it last arrived; a
snapshot: when it arrived), unless an incident they belong to is on hold
(:mod:`edge.receiver.store.incident_hold`). ``days = 0`` keeps everything forever.

Nothing is deleted unrecorded:

1. **Record.** In one chain transaction (:meth:`Appender.transaction`, which takes the
   chain's lock, so no hold can land meanwhile) the held incidents' material is looked up,
   and each due item gets a ``retention_delete`` record (kind ``clip`` or ``snapshot``, its
   id and sha256, ``site``, ``node``, ``reason`` ``retention``, ``age_days``) and its row
   is marked ``deleted`` (the record's time and seq) with ``unlinked = 0``. The signed
   head is written before the commit.
2. **Unlink.** After the commit each marked file is removed and its row set
   ``unlinked = 1``. A file already gone counts as removed (logged); one that cannot be
   removed (a read-only directory) stays ``unlinked = 0`` and is tried again by the next
   pass; so is everything of a pass interrupted between 1 and 2 (a crash). A file another
   live row still names (content-addressed: the same bytes stored twice) is left to it.

The row stays, so the export and the incident page can say what was deleted and when; a
deleted clip's URL answers 410 (:mod:`edge.receiver.web.media`). A pass refuses to run while
the clock reads more than :data:`CLOCK_SLACK_S` before the chain's signed head (a clock
set far back would stamp deletions before earlier records): it is logged and nothing is
deleted until the clock is right. The signed clip manifests (``.json``) are kept."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.core.errors import EdgeError
from edge.core.logs import get_logger
from edge.receiver.ackaudit.appender import Appender
from edge.receiver.ackaudit.chain import read_head
from edge.receiver.store import retentionrows
from edge.receiver.store.database import Cursor
from edge.receiver.store.store import ReceiverStore

log = get_logger(__name__)

DAY = 86400.0
ACTION = "retention_delete"
"""The chain record's action."""
REASON = "retention"
CLOCK_SLACK_S = 3600.0
"""How far the clock may read before the chain's signed head (receivers' clocks differ)."""

ItemKey = tuple[str, str, str, str]
"""(type, site, node, id)."""


class RetentionRefused(EdgeError):
    """The pass did not run (the clock is behind the chain)."""


@dataclass(frozen=True, slots=True)
class Item:
    """A stored clip or snapshot."""

    type: str
    site: str
    node: str
    id: str
    sha256: str
    path: str | None
    stored: float

    @property
    def key(self) -> ItemKey:
        """(type, site, node, id)."""
        return (self.type, self.site, self.node, self.id)

    def described(self, now: float, **extra: object) -> dict[str, object]:
        """As JSON fields, with its age at *now*."""
        return {"type": self.type, "site": self.site, "node": self.node, "id": self.id,
                "sha256": self.sha256, "stored": self.stored,
                "age_days": round((now - self.stored) / DAY, 3), **extra}  # fmt: skip


@dataclass
class Pass:
    """What one pass did (or, ``dry_run``, would do)."""

    now: float
    days: int
    dry_run: bool = False
    deleted: list[dict[str, Any]] = field(default_factory=list)
    """Recorded now (dry run: due), oldest first."""
    held: list[dict[str, Any]] = field(default_factory=list)
    """Due, but kept: an incident they belong to is on hold."""
    unlinked: int = 0
    """Files removed."""
    gone: int = 0
    """Files found already gone."""
    failed: list[str] = field(default_factory=list)
    """Files that could not be removed (tried again next pass)."""
    more: bool = False
    """The pass stopped at its bound with more due (the running receiver goes on at its
    next round)."""

    def as_dict(self) -> dict[str, object]:
        """As JSON."""
        return {"now": self.now, "days": self.days, "dry_run": self.dry_run,
                "deleted": self.deleted, "held": self.held, "unlinked": self.unlinked,
                "already_gone": self.gone, "failed": self.failed,
                "more": self.more}  # fmt: skip


def held_items(cur: Cursor) -> set[ItemKey]:
    """The clips and snapshots of every incident on hold: those of its occurrences, of the
    events of its occurrences, and of events naming it as their incident (each lookup by
    an index: held incidents are few, events many)."""
    found = retentionrows.held_media(cur)
    out: set[ItemKey] = set()
    for site, node, clip, snapshot in found:
        if clip:
            out.add(("clip", site, str(node), str(clip)))
        if snapshot:
            out.add(("snapshot", site, str(node), str(snapshot)))
    return out


def due(cur: Cursor, cutoff: float, limit: int) -> list[Item]:
    """Clips and snapshots stored before *cutoff* and not deleted, oldest first (at most
    *limit* of each type)."""
    clips, snaps = retentionrows.due_rows(cur, cutoff, limit)
    items = [Item("clip", str(s), str(n), str(i), str(h), p, float(t))
             for s, n, i, h, p, t in clips]  # fmt: skip
    items += [Item("snapshot", str(s), str(n), str(i), str(h), p, float(t))
              for s, n, i, h, p, t in snaps]  # fmt: skip
    return sorted(items, key=lambda i: i.stored)[:limit]


def _check_clock(cur: Cursor, now: float) -> None:
    head = read_head(cur)
    if head is not None and now < head.time - CLOCK_SLACK_S:
        raise RetentionRefused(
            f"the clock reads {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(now))}, before "
            f"the audit chain's last signed head "
            f"({time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(head.time))}): no deletion "
            "until the clock is right"
        )


def _mark(cur: Cursor, item: Item, record: dict[str, Any]) -> None:
    retentionrows.mark_deleted(cur, item.type, (item.site, item.node, item.id),
                               when=record["time"], seq=record["seq"])  # fmt: skip


def record_due(appender: Appender, days: int, now: float, batch: int, out: Pass, *,
               most: int | None = None) -> None:  # fmt: skip
    """Step 1: record every due item not held (at most *most*: then ``out.more``), *batch*
    per transaction (into *out*)."""
    now = round(now, 3)
    cutoff = now - days * DAY
    seen_held: set[ItemKey] = set()
    while True:
        with appender.transaction() as (cur, chain):
            _check_clock(cur, now)
            held = held_items(cur)
            recorded = 0
            for item in due(cur, cutoff, batch + len(held)):
                if item.key in held:
                    if item.key not in seen_held:
                        seen_held.add(item.key)
                        out.held.append(item.described(now))
                    continue
                if recorded == batch:
                    break
                age = round((now - item.stored) / DAY, 3)
                record = chain.append(ACTION, item.type, item.id, item.sha256, when=now,
                                      site=item.site, node=item.node, reason=REASON,
                                      age_days=age, days=days,
                                      receiver=chain.receiver)  # fmt: skip
                _mark(cur, item, record)
                out.deleted.append(item.described(now, seq=record["seq"]))
                recorded += 1
        log.info("retention.recorded", count=recorded, held=len(seen_held), days=days)
        if recorded < batch:
            return
        if most is not None and len(out.deleted) >= most:
            out.more = True  # the rest next round: the supervision loop is not held up
            return


def _inside(path: Path, root: Path) -> bool:
    try:
        path.parent.resolve().relative_to(root.resolve())
    except (OSError, ValueError):
        return False
    return True


def unlink_pending(store: ReceiverStore, out: Pass, chunk: int = 500) -> None:
    """Step 2: remove the file of every row recorded deleted whose file is not removed
    yet, *chunk* rows per transaction (ingest storing the same bytes meanwhile waits: a
    file is never removed under a row that names it); what fails stays for the next pass."""
    for kind in retentionrows.TABLES:
        rows = retentionrows.not_unlinked(store.db, kind)
        for start in range(0, len(rows), chunk):
            with store.db.transaction() as cur:
                for site, node, item_id, sha256, path in rows[start : start + chunk]:
                    live = retentionrows.live_copies(cur, kind, sha256, path)
                    if path and not live and not _unlink(store, kind, path, out):
                        continue
                    retentionrows.mark_unlinked(cur, kind, (site, node, item_id))


def _unlink(store: ReceiverStore, kind: str, path: str, out: Pass) -> bool:
    """Remove *path*; True when it is gone (removed now or before)."""
    file = Path(path)
    if not _inside(file, store.files.objects):
        log.error("retention.outside", type=kind, path=path,
                  why="not under the data directory's objects: left alone")  # fmt: skip
        out.failed.append(f"{path}: not under {store.files.objects}: left alone")
        return False
    try:
        os.unlink(file)
    except FileNotFoundError:
        log.warning("retention.already_gone", type=kind, path=path)
        out.gone += 1
        return True
    except OSError as e:
        log.error("retention.unlink_failed", type=kind, path=path,
                  error=f"{type(e).__name__}: {e}", retry="next pass")  # fmt: skip
        out.failed.append(f"{path}: {e.strerror or e}")
        return False
    out.unlinked += 1
    return True


def dry_run(store: ReceiverStore, days: int, now: float) -> Pass:
    """What a pass would record now (nothing is written)."""
    out = Pass(now, days, dry_run=True)
    if days <= 0:
        return out
    with store.db.transaction() as cur:
        _check_clock(cur, now)
        held = held_items(cur)
        for item in due(cur, now - days * DAY, 1 << 31):
            (out.held if item.key in held else out.deleted).append(item.described(now))
    return out


def run_pass(
    store: ReceiverStore, appender: Appender, days: int, *, now: float | None = None,
    batch: int = 200, most: int | None = None,
) -> Pass:  # fmt: skip
    """One pass: files recorded deleted before and still there are removed first, then
    what is due is recorded (at most *most*) and removed. Raises
    :class:`RetentionRefused` (after the first step) when the clock is behind the chain."""
    now = round(time.time() if now is None else now, 3)
    out = Pass(now, days)
    unlink_pending(store, out)  # an earlier pass's leftovers (a crash, a read-only dir)
    if days > 0:
        record_due(appender, days, now, batch, out, most=most)
        unlink_pending(store, out)
    log.info("retention.pass", days=days, deleted=len(out.deleted), held=len(out.held),
             unlinked=out.unlinked, already_gone=out.gone, failed=len(out.failed))  # fmt: skip
    return out


class Retention:
    """The pass run by the receiver's upkeep (:class:`edge.receiver.upkeep.Upkeep`): at
    the first round, then every *every_s*; at most *per_round* deletions in one round (a
    first pass over years of material does not hold up the supervision loop: the rest
    follows round by round)."""

    def __init__(
        self, store: ReceiverStore, appender: Appender, days: int, every_s: float = 3600.0,
        *, batch: int = 200, per_round: int = 2000,
    ) -> None:  # fmt: skip
        self.store, self.appender, self.days = store, appender, days
        self.every_s, self.batch, self.per_round = every_s, batch, per_round
        self._at: float | None = None
        self.last: Pass | None = None

    def run(self) -> None:
        """A pass when one is due; its trouble is logged, never raised."""
        now = time.monotonic()
        going_on = self.last is not None and self.last.more
        if self._at is not None and now - self._at < self.every_s and not going_on:
            return
        self._at = now
        self.last = None
        try:
            self.last = run_pass(self.store, self.appender, self.days, batch=self.batch,
                                 most=self.per_round)  # fmt: skip
        except RetentionRefused as e:
            log.error("retention.refused", error=str(e))
        except Exception as e:  # the next round tries again
            log.error("retention.failed", error=f"{type(e).__name__}: {e}")
