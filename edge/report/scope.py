"""What the node was set to share over a report's period: the policy per destination and the
cameras (private or not, their privacy masks) in force at its end, and every change recorded
in the chain (``sharing_change``, :mod:`edge.node.sharing_audit`) within it.

The config given is the one in force now; the state at the period's end is it with every
change recorded after the period undone, newest first (each record holds the old values).
Mask polygons come from the config when its mask hash is the one in force, else from the
newest camera record at or before the end that names them, else they are ``None``."""

from __future__ import annotations

from collections.abc import Sequence

from edge.config.root import EdgeConfig
from edge.core.jsonshape import JsonObject, as_str_or_none, as_strs
from edge.node.sharing_audit import ACTION, Sharing, sharing_of
from edge.report.chainfile import Line
from edge.report.shapes import Mask, ReportCamera, Retention, ScopeChange, ScopeRule


def _changes(lines: Sequence[Line]) -> list[Line]:
    return [ln for ln in lines if ln.record.get("action") == ACTION]


def _values(rec: JsonObject, side: str) -> dict[str, object] | None:
    """The ``old_*`` or ``new_*`` values of a sharing_change record (None: absent then)."""
    prefix = f"{side}_"
    values = {k[len(prefix) :]: v for k, v in rec.items() if k.startswith(prefix)}
    values.pop("mask_polygons", None)
    values.pop("resolution", None)
    return None if all(v is None for v in values.values()) else values


def _target(rec: JsonObject) -> tuple[str, str]:
    """("cameras", NAME) or ("destinations", NAME) a sharing_change record is about."""
    if rec.get("kind") == "camera":
        return "cameras", str(rec.get("camera") or rec.get("id"))
    return "destinations", str(rec.get("destination") or rec.get("id"))


def state_at(cfg: EdgeConfig, lines: Sequence[Line], until: float) -> Sharing:
    """``{"cameras": {...}, "destinations": {...}}`` as in force at *until*."""
    state = sharing_of(cfg)
    for line in reversed(_changes(lines)):
        if line.time < until:
            break
        section, name = _target(line.record)
        old = _values(line.record, "old")
        if old is None:
            state[section].pop(name, None)
        else:
            state[section][name] = old
    return state


def scope(state: Sharing) -> dict[str, ScopeRule]:
    """Per destination, the cameras and kinds it gets."""
    return {
        name: {
            "cameras": as_strs(d.get("cameras"), f"destination {name} cameras"),
            "kinds": as_strs(d.get("kinds"), f"destination {name} kinds"),
        }
        for name, d in sorted(state["destinations"].items())
    }


def history(lines: Sequence[Line], since: float, until: float) -> list[ScopeChange]:
    """Every change to what is shared recorded from *since* to *until* (a camera's with its
    new mask polygons and resolution, when its record names them)."""
    out: list[ScopeChange] = []
    for line in _changes(lines):
        if not since <= line.time < until:
            continue
        section, name = _target(line.record)
        entry: ScopeChange = {
            "time": line.record["time"],
            "audit_seq": line.seq,
            "old": _values(line.record, "old"),
            "new": _values(line.record, "new"),
        }
        if section == "cameras":
            entry["camera"] = name
        else:
            entry["destination"] = name
        if "new_mask_polygons" in line.record:  # the masks drawn from then on
            entry["new_polygons"] = line.record["new_mask_polygons"]
            entry["new_resolution"] = line.record.get("new_resolution")
        out.append(entry)
    return out


def _polygons(
    cfg: EdgeConfig, lines: Sequence[Line], name: str, digest: str | None, until: float
) -> tuple[list[Mask] | None, list[int] | None]:
    """The mask polygons and resolution of camera *name* whose mask hash is *digest*."""
    current = sharing_of(cfg)["cameras"].get(name)
    camera = next((c for c in cfg.cameras if c.name == name), None)
    if camera is not None and current is not None and current["masks_sha256"] == digest:
        masks: list[Mask] = [{"name": m.name, "points": m.points} for m in camera.privacy_masks]
        return masks, list(camera.resolution) if camera.resolution else None
    for line in reversed(_changes(lines)):
        rec = line.record
        if line.time < until and _target(rec) == ("cameras", name) and "new_mask_polygons" in rec:
            if rec.get("new_masks_sha256") == digest:
                return rec["new_mask_polygons"], rec.get("new_resolution")
            break
    return None, None


def cameras(
    cfg: EdgeConfig, lines: Sequence[Line], state: Sharing, until: float
) -> dict[str, ReportCamera]:
    """Per camera in force at *until*: private, masks (name and points; points ``None``
    when no record names them), their hash, the resolution they are drawn on."""
    out: dict[str, ReportCamera] = {}
    for name, cam in sorted(state["cameras"].items()):
        digest = as_str_or_none(cam.get("masks_sha256"), f"camera {name} masks_sha256")
        polygons, resolution = _polygons(cfg, lines, name, digest, until)
        if polygons is None:
            names = as_strs(cam.get("masks"), f"camera {name} masks")
            polygons = [{"name": m, "points": None} for m in names]
        out[name] = {
            "private": bool(cam.get("private")),
            "masks": polygons,
            "masks_sha256": digest,
            "resolution": resolution,
            "overlay": None,
        }
    return out


def retention(cfg: EdgeConfig) -> Retention:
    """The node's own retention of clips and snapshots (its store quota and age limit)."""
    c = cfg.clips
    return {
        "clips_enabled": c.enabled,
        "max_bytes": c.max_bytes,
        "keep_free_bytes": c.keep_free_bytes,
        "max_age_days": c.max_age_days,
        "note": "delivered clips and snapshots go first, oldest first, when the quota is "
        "reached; none is kept past max_age_days once delivered",
    }


def masks_in_period(start: Sharing, changes: Sequence[ScopeChange], camera: str) -> list[str]:
    """Every mask hash *camera* had in the period: at its start (*start*: :func:`state_at`
    the period's start), then each one a change in it (*changes*: :func:`history`) set."""
    first = as_str_or_none((start["cameras"].get(camera) or {}).get("masks_sha256"), camera)
    out = [first] if first else []
    for c in changes:
        new = as_str_or_none((c.get("new") or {}).get("masks_sha256"), f"{camera} masks_sha256")
        if c.get("camera") == camera and new and new not in out:
            out.append(new)
    return out
