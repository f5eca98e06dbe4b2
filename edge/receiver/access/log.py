"""Reading the police access log back: the access records of the receiver's chain, found
through their index (``access_log``, migration 10) and read from the chain itself (the
record is the truth; the index only finds it), newest first, filtered by period, user,
site and node."""

from __future__ import annotations

import json
from typing import Any

from edge.receiver.access.record import PLAY_CLIP
from edge.receiver.store import accessrows
from edge.receiver.store.database import Database

FIELDS = ("audit_seq", "time", "user", "role", "action", "type", "id", "site", "node",
          "sha256")  # fmt: skip
"""An access as the export lists it (``ranges``, ``ranges_unit``, ``requests``, ``started``,
``ended`` too for a clip; ``hash``: its record's hash)."""


def entry(rec: dict[str, object]) -> dict[str, object]:
    """One access record of the chain as an access (export's ``accesses`` item + ``hash``)."""
    out = {f: rec.get("seq" if f == "audit_seq" else f) for f in FIELDS}
    out["sha256"] = rec.get("sha256") or None
    if rec.get("type") == "clip" or rec.get("action") == PLAY_CLIP:
        out["ranges"] = rec.get("ranges") or []
        out["ranges_unit"] = rec.get("ranges_unit", "bytes")
    for extra in ("requests", "started", "ended", "ended_by", "viewing", "clip_id"):
        if extra in rec:
            out[extra] = rec[extra]
    out["hash"] = rec.get("hash")
    return out


def accesses(
    db: Database,
    *,
    since: float | None = None,
    until: float | None = None,
    user: str | None = None,
    site: str | None = None,
    node: str | None = None,
    limit: int | None = 500,
) -> list[dict[str, Any]]:
    """The accesses in [*since*, *until*] (UNIX s) of *user* to *site*/*node*'s material,
    newest first, at most *limit* (None: all). One whose chain record is gone or unreadable
    is listed from the index with ``damaged`` true."""
    out = []
    for *index, text in accessrows.access_rows(db, (since, until, user, site, node), limit):
        try:
            rec = json.loads(str(text)) if text is not None else None
        except ValueError:
            rec = None
        if isinstance(rec, dict):
            out.append(entry(rec))
        else:  # its record deleted or edited: shown from the index, marked (verify names it)
            seq, when, who, action, kind, item, site_, node_ = index
            out.append({"audit_seq": seq, "time": when, "user": who, "role": None,
                        "action": action, "type": kind, "id": item, "site": site_,
                        "node": node_, "sha256": None, "hash": None, "damaged": True})  # fmt: skip
    return out
