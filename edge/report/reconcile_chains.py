"""Each bundle of a reconciliation against its own ``chain.jsonl``: what a receiver's
``export.json`` lists (accesses, deletions) must be its chain's records, and every access or
deletion record of the period (within the export's filters) must be listed; every item a
node's ``report.json`` delivered must rest on a record of its chain. Pure: documents and
records in, findings out through *find* (``code, side, detail, item``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from edge.core.jsonshape import JsonObject, as_float, as_object, as_objects

ACCESS_ACTIONS = frozenset({"view_detail", "view_snapshot", "play_clip", "download_evidence"})
"""The receiver chain's access actions."""
DELETE_ACTION = "retention_delete"

Find = Callable[[str, str, str, JsonObject | None], None]
"""Where a finding goes: ``find(code, side, detail, item)``."""


def _index(records: Iterable[JsonObject]) -> dict[int, JsonObject]:
    return {int(seq): r for r in records if isinstance(seq := r.get("seq"), int)}


def _seq(entry: JsonObject) -> int | None:
    seq = entry.get("audit_seq")
    return seq if isinstance(seq, int) else None


def _name(entry: JsonObject) -> str:
    return f"{entry.get('type')} {entry.get('id')}"


def _filtered_in(export: JsonObject, rec: JsonObject) -> bool:
    """Is *rec* within the export's site, node and (for an access) user filters?"""
    f = as_object(export.get("filters"), "export.json filters")
    where = all(f.get(k) in (None, rec.get(k)) for k in ("site", "node"))
    return where and (
        rec.get("action") == DELETE_ACTION or f.get("user") in (None, rec.get("user"))
    )


def _in_period(export: JsonObject, rec: JsonObject) -> bool:
    p, t = as_object(export.get("period"), "export.json period"), rec.get("time")
    if not isinstance(t, int | float):
        return False
    return (
        as_float(p.get("since", 0), "period since")
        <= t
        <= as_float(p.get("until", 0), "period until")
    )


def export_against_chain(export: JsonObject, records: Sequence[JsonObject],
                         find: Find) -> None:  # fmt: skip
    """``export_inconsistent`` for each listed access or deletion that is not its record,
    and each access or deletion record of the period that is not listed."""
    chain = _index(records)
    listed: set[int] = set()
    for a in as_objects(export.get("accesses"), "export.json accesses"):
        seq = _seq(a)
        rec = chain.get(seq) if seq is not None else None
        listed.add(-1 if seq is None else seq)
        if rec is None:
            find("export_inconsistent", "receiver", f"access seq {seq} ({_name(a)} by "
                 f"{a.get('user')}): listed, but no such record in chain.jsonl", a)  # fmt: skip
        elif (rec.get("action"), str(rec.get("id")), rec.get("user")) != (
                a.get("action"), str(a.get("id")), a.get("user")):  # fmt: skip
            find("export_inconsistent", "receiver", f"access seq {seq}: the listed access "
                 "differs from its chain record (action, id or user)", a)  # fmt: skip
    for d in as_objects(export.get("deletions"), "export.json deletions"):
        seq = _seq(d)
        rec = chain.get(seq) if seq is not None else None
        listed.add(-1 if seq is None else seq)
        if rec is None or rec.get("action") != DELETE_ACTION or str(rec.get("id")) != str(
                d.get("id")):  # fmt: skip
            find("export_inconsistent", "receiver", f"deletion seq {seq} ({_name(d)}): listed, "
                 "but not a retention_delete record of it in chain.jsonl", d)  # fmt: skip
    for seq, rec in sorted(chain.items()):
        action = rec.get("action")
        if seq in listed or action not in {*ACCESS_ACTIONS, DELETE_ACTION}:
            continue
        if not _in_period(export, rec) or not _filtered_in(export, rec):
            continue
        what = rec.get("type") or rec.get("kind")
        if action == DELETE_ACTION:
            find(
                "export_inconsistent",
                "receiver",
                f"chain record seq {seq} (retention delete "
                f"of {what} {rec.get('id')}) is not in the export's deletions",
                dict(rec),
            )
        else:
            find("export_inconsistent", "receiver", f"chain record seq {seq} ({action} of "
                 f"{what} {rec.get('id')} by {rec.get('user')}) is not in the export's "
                 "accesses (an access left out)", dict(rec))  # fmt: skip


def report_against_chain(report: JsonObject, records: Sequence[JsonObject],
                         find: Find) -> None:  # fmt: skip
    """``report_inconsistent`` for each delivered item whose audit record is not in the
    report's chain."""
    chain = _index(records)
    for item in as_objects(report.get("delivered"), "report.json delivered"):
        seq = _seq(item)
        if item.get("audit_seq") is not None and (seq is None or seq not in chain):
            find("report_inconsistent", "node", f"{_name(item)}: its audit record seq "
                 f"{item.get('audit_seq')} is not in the report's chain.jsonl", item)  # fmt: skip
