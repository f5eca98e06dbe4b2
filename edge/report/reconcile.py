"""Reconciliation of a node's sharing report with a receiver's access export: do the two
halves agree? Pure: two loaded documents (``report.json``, ``export.json``), their chain
records and what checking their signatures found go in; findings come out.

Items are matched by ``(type, id)``. Found and listed:

- ``delivered_not_held``: the node delivered it, the receiver does not hold it and did not
  delete it (a deletion by retention is listed in :attr:`Reconciliation.deleted`, not here);
- ``held_not_delivered``: the receiver holds an item of this node that the node never
  delivered in the period (forged, or another node's put under this one's name);
- ``misattributed``: both have it but disagree on its site, node, camera, kind or sha256;
- ``access_out_of_scope``: an access to an item of a private camera, or of a camera or kind
  the destination's scope did not include during the period;
- ``access_not_delivered``: an access to an item of this node the node never delivered;
- ``export_inconsistent``: ``export.json`` and its own ``chain.jsonl`` disagree (an access
  or deletion listed without its record, or a recorded one left out of the list);
- ``report_inconsistent``: a delivered item whose audit record is not in the report's chain;
- ``bundle`` / ``chain``: a signature, file or chain problem of either side (found by the
  caller, passed in).

An item on one side whose time lies outside the other side's period is not compared (it
is counted in ``not_compared``): neither document says anything about it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge.core.jsonshape import JsonObject, as_float, as_object, as_objects
from edge.report.reconcile_chains import (
    ACCESS_ACTIONS,
    DELETE_ACTION,
    export_against_chain,
    report_against_chain,
)

REPORT_SCHEMA = "warehouse-edge/sharing-report/1"
EXPORT_SCHEMA = "warehouse-edge/access-export/1"
RESULT_SCHEMA = "warehouse-edge/reconciliation/1"

ITEM_TYPES = ("event", "clip", "snapshot")
ATTRIBUTES = ("site", "node", "camera", "kind", "sha256")
"""What both sides must agree on for an item they both have (where neither says null)."""
SLACK_S = 300.0
"""Items this close to a period's edge are compared only when both periods cover them with
this margin (a delivery at 23:59:59 may be received after midnight)."""

Item = dict[str, object]
Key = tuple[str, str]
__all__ = ["ACCESS_ACTIONS", "DELETE_ACTION", "Finding", "Reconciliation", "reconcile"]


@dataclass(frozen=True)
class Finding:
    """One disagreement: a stable ``code``, the side it concerns, a sentence, the item."""

    code: str
    side: str
    """``node``, ``receiver`` or ``both``."""
    detail: str
    item: JsonObject | None = None

    def as_dict(self) -> dict[str, object]:
        """As JSON."""
        return {"code": self.code, "side": self.side, "detail": self.detail,
                "item": dict(self.item) if self.item is not None else None}  # fmt: skip


@dataclass
class Reconciliation:
    """What :func:`reconcile` found; :attr:`ok` when the halves agree."""

    site: str | None
    node: str | None
    destination: str | None
    period: tuple[float, float]
    """The span both documents cover (compared items lie inside it)."""
    findings: list[Finding] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    """Delivered items the receiver deleted by retention (deleted, not missing): each the
    report's item (any JSON) and its ``deleted`` (``time``, ``reason``, ``audit_seq``)."""
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing found."""
        return not self.findings

    def as_dict(self) -> dict[str, object]:
        """As JSON (``edge report reconcile --json``)."""
        return {
            "schema": RESULT_SCHEMA,
            "ok": self.ok,
            "site": self.site,
            "node": self.node,
            "destination": self.destination,
            "period": {"since": self.period[0], "until": self.period[1]},
            "counts": dict(self.counts),
            "findings": [f.as_dict() for f in self.findings],
            "deleted": list(self.deleted),
            "notes": list(self.notes),
        }


def key_of(item: JsonObject) -> Key:
    """An item's identity: ``(type, id)``."""
    return str(item.get("type")), str(item.get("id"))


def _name(item: JsonObject) -> str:
    return f"{item.get('type')} {item.get('id')}"


def _period(doc: JsonObject) -> tuple[float, float]:
    p = as_object(doc.get("period"), "period")
    return as_float(p.get("since", 0), "period since"), as_float(p.get("until", 0), "period until")


def _inside(t: object, span: tuple[float, float], margin: float = 0.0) -> bool:
    """Is the time *t* inside *span* (shrunk by *margin* at both ends)? Unknown: yes."""
    if not isinstance(t, int | float):
        return True
    return span[0] + margin <= t <= span[1] - margin


def pick_destination(report: JsonObject, wanted: str | None = None) -> str | None:
    """The destination the export is compared with: *wanted*, the report's own, or the only
    one the report names. None when the report names several and none was chosen."""
    if wanted:
        return wanted
    if report.get("destination"):
        return str(report["destination"])
    delivered = as_objects(report.get("delivered"), "report.json delivered")
    names = {str(d["destination"]) for d in delivered if d.get("destination")}
    names |= set(as_object(report.get("scope"), "report.json scope"))
    return names.pop() if len(names) == 1 else None


def _allows(rule: object, camera: object, kind: object) -> bool:
    """Does the scope *rule* (``{"cameras", "kinds"}``) let an item of *camera*/*kind* go?"""
    if not isinstance(rule, Mapping):
        return False
    cameras, kinds = rule.get("cameras") or [], rule.get("kinds") or []
    camera_ok = camera is None or "*" in cameras or camera in cameras
    return camera_ok and (kind is None or "*" in kinds or kind in kinds)


def scopes(report: JsonObject, destination: str | None) -> list[JsonObject]:
    """Every scope *destination* had during the report's period: the one in force at its
    end and those replaced within it."""
    scope = as_object(report.get("scope"), "report.json scope")
    rules = [scope.get(destination)] if destination else []
    for change in as_objects(report.get("scope_history"), "report.json scope_history"):
        if change.get("destination") == destination:
            rules += [change.get("old"), change.get("new")]
    return [r for r in rules if isinstance(r, Mapping)]


def out_of_scope(report: JsonObject, destination: str | None, item: JsonObject) -> str | None:
    """Why *item* was outside what *destination* may see, or None."""
    camera = item.get("camera")
    known = as_object(report.get("cameras"), "report.json cameras")
    cam = known.get(camera) if isinstance(camera, str) else None  # JSON keys are strings
    if isinstance(cam, Mapping) and cam.get("private"):
        return f"camera {camera} is private (never opened)"
    if camera is not None and report.get("cameras") and cam is None:
        return f"camera {camera} is not one of the node's cameras"
    kind = str(item["type"]) if item.get("type") in ("clip", "snapshot") else item.get("kind")
    rules = scopes(report, destination)
    if not rules:
        return f"the report names no scope for destination {destination}"
    if not any(_allows(r, camera, kind) for r in rules):
        return f"camera {camera}, kind {kind} outside the scope of {destination} in the period"
    return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


class _Run:
    """State of one reconciliation."""

    def __init__(self, report: JsonObject, export: JsonObject, destination: str | None) -> None:
        self.report, self.export = report, export
        self.site, self.node = report.get("site"), report.get("node")
        rp, ep = _period(report), _period(export)
        self.rp, self.ep = rp, ep
        self.r = Reconciliation(_text(self.site), _text(self.node), destination,
                                (max(rp[0], ep[0]), min(rp[1], ep[1])))  # fmt: skip
        self.counts: dict[str, int] = dict.fromkeys(
            ("delivered", "held", "matched", "deleted", "accesses", "not_compared"), 0)  # fmt: skip

    def find(self, code: str, side: str, detail: str, item: JsonObject | None = None) -> None:
        self.r.findings.append(Finding(code, side, detail, item))

    def ours(self, item: JsonObject) -> bool:
        """Is *item* said to be of the report's node?"""
        return item.get("site") == self.site and item.get("node") == self.node

    def compared(self, item: JsonObject, other: tuple[float, float]) -> bool:
        """Does the other side's period cover *item* (with a margin at its edges)?"""
        if _inside(item.get("time"), other, SLACK_S):
            return True
        self.counts["not_compared"] += 1
        return False


def _deleted_keys(export: JsonObject) -> dict[Key, Item]:
    out: dict[Key, Item] = {}
    for d in as_objects(export.get("deletions"), "export.json deletions"):
        out[key_of(d)] = dict(d)
    for h in as_objects(export.get("held"), "export.json held"):
        if h.get("deleted"):
            out.setdefault(key_of(h), {**h, **as_object(h["deleted"], "export.json held deleted")})
    return out


def _items(run: _Run, delivered: dict[Key, Item], held: dict[Key, Item]) -> None:
    deletions = _deleted_keys(run.export)
    for key, item in delivered.items():
        h = held.get(key)
        gone = deletions.get(key)
        if h is not None and not (h.get("deleted") or gone):
            run.counts["matched"] += 1
        elif gone is not None:
            run.counts["deleted"] += 1
            run.r.deleted.append(
                {**item, "deleted": {k: gone.get(k) for k in ("time", "reason", "audit_seq")}}
            )
        elif run.compared(item, run.ep):
            run.find(
                "delivered_not_held",
                "receiver",
                f"{_name(item)}: delivered by the node, not held by the receiver",
                item,
            )
            continue
        else:
            continue
        if h is not None:
            differ = [
                a
                for a in ATTRIBUTES
                if item.get(a) is not None and h.get(a) is not None and item[a] != h[a]
            ]
            if differ:
                said = ", ".join(f"{a} {item[a]!r} != {h[a]!r}" for a in differ)
                run.find("misattributed", "both", f"{_name(item)}: node and receiver disagree: "
                         f"{said}", h)  # fmt: skip
    for key, h in held.items():
        if key in delivered or not run.ours(h):
            continue
        if run.compared(h, run.rp):
            run.find("held_not_delivered", "receiver", f"{_name(h)}: held by the receiver as "
                     f"{run.site}/{run.node}'s, never delivered by it (forged or "
                     "misattributed)", h)  # fmt: skip


def _expanded(export: JsonObject, chain: Sequence[JsonObject] | None) -> list[JsonObject]:
    """The export's accesses, an incident page's view as a view of each event it names
    (``events``: ``NODE/ID``, in the access or its chain record)."""
    records = {r.get("seq"): r for r in chain or []}
    out: list[JsonObject] = []
    for a in as_objects(export.get("accesses"), "export.json accesses"):
        if a.get("type") != "incident":
            out.append(a)
            continue
        events = a.get("events") or (records.get(a.get("audit_seq")) or {}).get("events") or []
        if not isinstance(events, list):
            raise ValueError(f"export.json access seq {a.get('audit_seq')}: events is not a list")
        for named in events:
            node, _, event_id = str(named).partition("/")
            out.append({**a, "type": "event", "id": event_id, "node": node,
                        "incident": a.get("id")})  # fmt: skip
    return out


def _accesses(run: _Run, delivered: dict[Key, Item], held: dict[Key, Item],
              chain: Sequence[JsonObject] | None) -> None:  # fmt: skip
    for a in _expanded(run.export, chain):
        key = key_of(a)
        item = delivered.get(key)
        if item is None and not run.ours(a) and not run.ours(held.get(key) or {}):
            continue  # another node's item
        run.counts["accesses"] += 1
        via = f" on incident {a['incident']}'s page" if a.get("incident") else ""
        who = f"access seq {a.get('audit_seq')} ({a.get('action')}{via} by {a.get('user')})"
        if item is None:
            h = held.get(key)
            if h is None or not _inside(h.get("time"), run.rp, SLACK_S):
                run.counts["not_compared"] += 1
                continue
            run.find(
                "access_not_delivered",
                "receiver",
                f"{who}: {_name(a)} was never delivered by the node",
                a,
            )
            item = h
        why = out_of_scope(run.report, run.r.destination, item)
        if why is not None:
            run.find("access_out_of_scope", "receiver", f"{who} to {_name(a)}: {why}", a)


def reconcile(
    report: JsonObject,
    export: JsonObject,
    *,
    destination: str | None = None,
    report_chain: Sequence[JsonObject] | None = None,
    export_chain: Sequence[JsonObject] | None = None,
    report_problems: Sequence[str] = (),
    export_problems: Sequence[str] = (),
) -> Reconciliation:
    """Compare the node's *report* with the receiver's *export* (their JSON documents), for
    the report's *destination* (see :func:`pick_destination`). With the bundles' chain
    records, each side's lists are checked against its own chain; *report_problems* and
    *export_problems* (signature, file and chain problems the caller found) become
    ``bundle``/``chain`` findings (a problem starting with ``chain: `` is a chain one)."""
    run = _Run(report, export, pick_destination(report, destination))
    for side, problems in (("node", report_problems), ("receiver", export_problems)):
        for p in problems:
            chain = p.startswith("chain: ")
            run.find("chain" if chain else "bundle", side, p.removeprefix("chain: "))
    if report.get("schema") != REPORT_SCHEMA:
        run.find("bundle", "node", f"report.json: schema {report.get('schema')!r}, "
                 f"not {REPORT_SCHEMA}")  # fmt: skip
    if export.get("schema") != EXPORT_SCHEMA:
        run.find("bundle", "receiver", f"export.json: schema {export.get('schema')!r}, "
                 f"not {EXPORT_SCHEMA}")  # fmt: skip
    if run.r.period[0] > run.r.period[1]:
        run.r.notes.append("the two periods do not overlap: nothing could be compared")
    dest = run.r.destination
    sent = as_objects(report.get("delivered"), "report.json delivered")
    delivered = {key_of(d): dict(d) for d in sent
                 if dest is None or d.get("destination") in (None, dest)}  # fmt: skip
    held = {key_of(h): dict(h) for h in as_objects(export.get("held"), "export.json held")}
    run.counts["delivered"] = len(delivered)
    run.counts["held"] = sum(1 for h in held.values() if run.ours(h))
    _items(run, delivered, held)
    _accesses(run, delivered, held, export_chain)
    if export_chain is not None:
        export_against_chain(export, export_chain, run.find)
    if report_chain is not None:
        report_against_chain(report, report_chain, run.find)
    if dest is None:
        run.r.notes.append("the report names no single destination and none was chosen: "
                           "every delivery was compared")  # fmt: skip
    run.r.counts = run.counts
    return run.r
