"""The receiver's signed export for a period: what it holds of the nodes' shared material
(and what retention deleted), who at the police accessed which item and when, the
retention deletions and the incident holds; with the chain records behind them, verbatim,
so that a third party holding only the receiver's public key finds a removed or edited
record (:mod:`edge.receiver.access.verify`).

Making an export is itself chained: an ``export`` record (who asked, period, filters),
then a checkpoint signed at once, so ``chain.jsonl`` (the records from the first one of the
period to that checkpoint) ends at a signed record. Viewings that ended are chained first.

The bundle (:mod:`edge.evidence.bundle`, signed with the receiver's audit key):
``export.json`` (schema :data:`SCHEMA`), ``chain.jsonl``, ``export.html`` (Bahasa
Indonesia, then English; times in WIB), ``SIGNATURE.json``."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from edge.core.displaytime import DisplayZone
from edge.core.errors import EdgeError
from edge.core.logs import get_logger
from edge.evidence.bundle import sign_bundle
from edge.receiver.access.export_page import render
from edge.receiver.access.log import entry
from edge.receiver.access.record import ACCESS, ACTIONS, Recorder
from edge.receiver.ackaudit.appender import Appender
from edge.receiver.store import exportrows
from edge.receiver.store.database import Database
from edge.receiver.store.store import ReceiverStore

log = get_logger(__name__)

SCHEMA = "warehouse-edge/access-export/1"
EXPORT_ACTION = "export"
"""The action of the record that says an export was made."""
DELETE_ACTION = "retention_delete"
HOLD_ACTIONS = ("hold", "release")


class ExportError(EdgeError):
    """The export cannot be written (the directory exists and is not empty, the chain
    cannot be appended to)."""


def _chain_export(appender: Appender, who: str, period: dict[str, float],
                  filters: Mapping[str, object]) -> int:  # fmt: skip
    """Append the export's record and a checkpoint after it; the checkpoint's seq."""
    with appender.transaction() as (_, chain):
        chain.append(EXPORT_ACTION, "audit", f"{period['since']}-{period['until']}", "",
                     user=who, period=period, filters=filters,
                     receiver=appender.receiver)  # fmt: skip
        chain.checkpoint_every = 1  # sign a checkpoint of it now (finish)
    return chain.seq


BATCH = 2000
"""Chain records read at a time (an export never holds the whole chain in memory)."""
VIEWINGS = ("play_clip", "view_snapshot")
"""Records whose time is their viewing's start, before they were chained: the only ones out
of time order."""


def _records(db: Database, first: int, last: int) -> Iterator[tuple[int, str, dict[str, object]]]:
    """The chain's records *first*..*last*, in order, read in batches."""
    after = first - 1
    while after < last:
        rows = exportrows.chain_batch(db, after, last, BATCH)
        if not rows:
            return
        for seq, text in rows:
            try:
                rec = json.loads(str(text))
            except ValueError:
                rec = {}
            yield int(seq), str(text), rec if isinstance(rec, dict) else {}
        after = int(rows[-1][0])


def _stamp(db: Database, seq: int, last: int) -> float:
    """The time of the first record at or after *seq* that is in time order (inf: none)."""
    text = exportrows.first_record_not_of(db, seq, last, VIEWINGS)
    try:
        return float(json.loads(str(text))["time"]) if text is not None else float("inf")
    except (ValueError, KeyError, TypeError):
        return float("inf")


def first_seq(db: Database, since: float, last: int) -> int:
    """The first record of the period: the first (by a binary search over the records in
    time order) whose time is at or after *since*, or an earlier viewing record of the
    period (a viewing is chained when it ends, with its start's time)."""
    lo, hi = 1, last
    while lo < hi:
        mid = (lo + hi) // 2
        if _stamp(db, mid, last) >= since:
            hi = mid
        else:
            lo = mid + 1
    early = exportrows.first_indexed_since(db, since, VIEWINGS)
    return min(lo, int(early)) if early is not None else lo


def _in(rec: dict[str, object], since: float, until: float) -> bool:
    t = rec.get("time")
    return isinstance(t, int | float) and since <= t <= until


def _deleted(when: float | None, seq: int | None) -> dict[str, object] | None:
    if when is None:
        return None
    return {"time": float(when), "reason": "retention",
            "audit_seq": None if seq is None else int(seq)}  # fmt: skip


def held(db: Database, since: float, until: float, site: str | None = None,
         node: str | None = None) -> list[dict[str, object]]:  # fmt: skip
    """The events, clips and snapshots the receiver received in [*since*, *until*] (``time``:
    when received), with what retention deleted of them."""
    out: list[dict[str, object]] = []
    kind: str | None  # of the first event (a clip's or a snapshot's may have none)
    for s, n, i, kind, cam, received, sha in exportrows.received_events(
        db, since, until, site, node
    ):
        out.append({"type": "event", "id": i, "site": s, "node": n, "camera": cam, "kind": kind,
                    "sha256": sha, "time": float(received), "received": float(received),
                    "deleted": None})  # fmt: skip
    for s, n, i, cam, sha, updated, dt, dseq, kind in exportrows.complete_clips(
        db, since, until, site, node
    ):
        out.append({"type": "clip", "id": i, "site": s, "node": n, "camera": cam, "kind": kind,
                    "sha256": sha, "time": float(updated), "received": float(updated),
                    "deleted": _deleted(dt, dseq)})  # fmt: skip
    for s, n, i, sha, received, dt, dseq, cam, kind in exportrows.received_snapshots(
        db, since, until, site, node
    ):
        out.append({"type": "snapshot", "id": i, "site": s, "node": n, "camera": cam,
                    "kind": kind, "sha256": sha, "time": float(received),
                    "received": float(received), "deleted": _deleted(dt, dseq)})  # fmt: skip
    return out


def _lists(db: Database, first: int, last: int, since: float, until: float, *,
           f: Mapping[str, object]) -> dict[str, list[dict[str, object]]]:  # fmt: skip
    """accesses, deletions and holds among the records *first*..*last* in the period, as
    filtered by *f*."""
    accesses, deletions, holds = [], [], []
    for seq, _, rec in _records(db, first, last):
        if not _in(rec, since, until) or rec.get("seq") != seq:
            continue
        where = all(f.get(k) in (None, rec.get(k)) for k in ("site", "node"))
        action = rec.get("action")
        if rec.get("kind") == ACCESS and action in ACTIONS:
            if where and f.get("user") in (None, rec.get("user")):
                accesses.append(entry(rec))
        elif action == DELETE_ACTION and where:
            deletions.append({"audit_seq": seq, "time": rec.get("time"), "type": rec.get("kind"),
                              "id": rec.get("id"), "sha256": rec.get("sha256"),
                              "site": rec.get("site"), "node": rec.get("node"),
                              "reason": rec.get("reason")})  # fmt: skip
        elif action in HOLD_ACTIONS and rec.get("kind") == "incident" and \
                f.get("site") in (None, rec.get("site")):  # fmt: skip
            holds.append({"audit_seq": seq, "time": rec.get("time"), "user": rec.get("user"),
                          "site": rec.get("site"), "incident": rec.get("id"),
                          "action": action, "reason": rec.get("reason")})  # fmt: skip
    accesses.sort(key=lambda a: (a.get("time") or 0, a["audit_seq"]))
    return {"accesses": accesses, "deletions": deletions, "holds": holds}


def _write_chain(path: Path, db: Database, first: int, last: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for _, text, _ in _records(db, first, last):
            f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def write_export(
    store: ReceiverStore | Database,
    appender: Appender,
    since: float,
    until: float,
    out_dir: Path,
    *,
    site: str | None = None,
    node: str | None = None,
    user: str | None = None,
    made_by: str = "cli",
    zone: DisplayZone | None = None,
) -> Path:
    """Write the signed export of [*since*, *until*] (UNIX s; *site*, *node*, *user*
    narrow it) into *out_dir* (made; must be empty); returns *out_dir*. Raises
    :class:`ExportError`."""
    db = store.db if isinstance(store, ReceiverStore) else store
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportError(f"{out_dir}: exists and is not an empty directory")
    period = {"since": float(since), "until": float(until)}
    filters = {"site": site or None, "node": node or None, "user": user or None}
    errors: tuple[type[BaseException], ...] = (EdgeError, OSError, *db.errors)
    try:
        Recorder(db, appender).chain_ended()
        last = _chain_export(appender, made_by, period, filters)
    except errors as e:
        raise ExportError(f"the export cannot be chained: {e} (edge receive audit verify "
                          "names what is wrong)") from e  # fmt: skip
    first = first_seq(db, since, last)
    key = appender.key()
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "receiver": appender.receiver,
        "key_id": key.id,
        "period": period,
        "generated": round(time.time(), 3),
        "filters": filters,
        "held": held(db, since, until, site, node),
        **_lists(db, first, last, since, until, f=filters),
        "chain": {"first_seq": first, "last_seq": last, "records": "chain.jsonl"},
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_chain(out_dir / "chain.jsonl", db, first, last)
        _write(out_dir / "export.json", json.dumps(doc, indent=1, sort_keys=True) + "\n")
        _write(out_dir / "export.html", render(doc, zone or DisplayZone()))
        sign_bundle(out_dir, key, key.public, SCHEMA)
    except OSError as e:  # a full disk: no half export left to be taken for a whole one
        shutil.rmtree(out_dir, ignore_errors=True)
        raise ExportError(f"{out_dir}: cannot write the export ({e}); nothing was left") from e
    log.info("access.export_written", out=str(out_dir), since=since, until=until,
             accesses=len(doc["accesses"]), held=len(doc["held"]), first_seq=first,
             last_seq=last)  # fmt: skip
    return out_dir
