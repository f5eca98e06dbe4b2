"""What a report says about cameras and scope, checked against itself and the chain: the mask
polygons it shows hash to the mask hash it names (the hash the node records and puts in
every clip manifest), and the newest ``sharing_change`` recorded before the period's end
for a camera or destination says what the report says was in force then."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from edge.core.jsonshape import JsonObject, as_float, as_object, as_objects
from edge.evidence.canonical import canonical
from edge.node.sharing_audit import ACTION
from edge.report.chainfile import Line


def masks_digest(camera: JsonObject) -> str | None:
    """sha256 of a report camera's masks as :func:`edge.node.sharing_audit.masks_sha256`
    makes it; None when a polygon is not known."""
    masks = as_objects(camera.get("masks"), "camera masks")
    if any(m.get("points") is None for m in masks):
        return None
    shown = [{"name": m.get("name"), "points": m.get("points")} for m in masks]
    body = {"resolution": camera.get("resolution"), "privacy_masks": shown}
    return hashlib.sha256(canonical(body)).hexdigest()


def _newest(lines: Sequence[Line], until: float) -> dict[tuple[str, str], JsonObject]:
    """The newest sharing_change before *until* per ("camera"|"destination", name)."""
    out: dict[tuple[str, str], JsonObject] = {}
    for line in lines:
        rec = line.record
        if rec.get("action") != ACTION or line.time >= until:
            continue
        if rec.get("kind") == "camera":
            out[("camera", str(rec.get("camera") or rec.get("id")))] = rec
        else:
            out[("destination", str(rec.get("destination") or rec.get("id")))] = rec
    return out


def _camera(name: str, cam: JsonObject, rec: JsonObject | None, where: str) -> list[str]:
    out = []
    digest = masks_digest(cam)
    if digest is not None and digest != cam.get("masks_sha256"):
        out.append(f"camera {name}: its masks do not hash to its masks_sha256")
    if rec is None:
        return out
    if rec.get("new_masks_sha256") is None and rec.get("new_private") is None:
        return [*out, f"camera {name}: removed by audit seq {rec.get('seq')} in {where}"]
    if rec.get("new_masks_sha256") != cam.get("masks_sha256"):
        out.append(f"camera {name}: masks_sha256 is not the one audit seq {rec.get('seq')} "
                   f"in {where} set")  # fmt: skip
    if bool(rec.get("new_private")) != bool(cam.get("private")):
        out.append(f"camera {name}: private is not what audit seq {rec.get('seq')} in {where} "
                   "set")  # fmt: skip
    return out


def disagreements(report: JsonObject, lines: Sequence[Line], where: str) -> list[str]:
    """Where the report's cameras and scope disagree with themselves or with *lines*."""
    period = as_object(report.get("period"), "report.json period")
    newest = _newest(lines, as_float(period.get("until", 0), "report.json period until"))
    cameras = as_object(report.get("cameras"), "report.json cameras")
    out = []
    for name in sorted(cameras):
        cam = as_object(cameras[name], f"report.json camera {name}")
        out += _camera(name, cam, newest.get(("camera", name)), where)
    for (what, name), rec in sorted(newest.items()):
        if what == "camera" and name not in cameras and rec.get("new_masks_sha256") is not None:
            out.append(f"camera {name}: left out, though audit seq {rec.get('seq')} in {where} "
                       "says it was there")  # fmt: skip
    scope = as_object(report.get("scope"), "report.json scope")
    wanted = report.get("destination")
    for (what, name), rec in sorted(newest.items()):
        if what != "destination" or (wanted is not None and name != wanted):
            continue
        said = scope.get(name)
        now: dict[str, object] | None = None
        if rec.get("new_cameras") is not None or rec.get("new_kinds") is not None:
            now = {"cameras": rec.get("new_cameras") or [], "kinds": rec.get("new_kinds") or []}
        if said != now:
            out.append(f"destination {name}: scope is not what audit seq {rec.get('seq')} in "
                       f"{where} set")  # fmt: skip
    return [f"report.json: {p}" for p in out]
