"""What the node shares, audited when it changes: each camera's privacy masks (their hash,
with the resolution they are drawn on), its ``private`` flag, and the cameras and kinds each
destination gets.

At start the node compares them with what it last ran with (``DATA_DIR/sharing.json``,
written after each start) and appends one ``sharing_change`` record per camera or
destination that differs to the audit log, naming it (``camera``; a destination's in the
record's ``destination``) with the old and new values (a mask change: ``old_masks_sha256``
-> ``new_masks_sha256``; a camera's record has its new mask polygons too,
``new_mask_polygons``), and logs ``sharing.changed``. A
change made by hand or by Ansible is in the chain either way. The first start (no file)
records nothing and remembers the config; a change that cannot be recorded (a full disk) is
not remembered, so the next start records it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Protocol

from edge.config.cameras import CameraConfig
from edge.config.root import EdgeConfig
from edge.core.logs import get_logger
from edge.evidence.canonical import canonical

log = get_logger(__name__)

STATE_NAME = "sharing.json"
"""The file in the data directory that holds what the node last ran with."""
ACTION = "sharing_change"
"""The audit record's action."""

Sharing = dict[str, dict[str, dict[str, object]]]
"""``{"cameras": {NAME: {...}}, "destinations": {NAME: {...}}}``."""


class Appends(Protocol):
    """The audit log's append (:meth:`edge.evidence.audit.AuditLog.append`)."""

    def append(
        self,
        action: str,
        kind: str,
        item_id: str,
        destination: str | None,
        sha256: str,
        **extra: object,
    ) -> dict[str, object]:
        """Append one record durably; raise ``OSError`` when it cannot be stored."""
        ...


def _sha256(obj: object) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def masks_sha256(camera: CameraConfig) -> str:
    """sha256 of *camera*'s privacy masks (names and points) and the resolution they are
    drawn on: any change to what is hidden changes it."""
    masks = [m.model_dump(mode="json") for m in camera.privacy_masks]
    return _sha256({"resolution": camera.resolution, "privacy_masks": masks})


def mask_polygons(cfg: EdgeConfig, camera: str) -> dict[str, object]:
    """``new_mask_polygons`` (each mask's name and points) and ``new_resolution`` of
    *camera* as *cfg* has it, for its ``sharing_change`` record (a sharing report shows the
    polygons in force); nothing for a camera *cfg* no longer has."""
    for c in cfg.cameras:
        if c.name == camera:
            masks = [{"name": m.name, "points": m.points} for m in c.privacy_masks]
            return {"new_mask_polygons": masks, "new_resolution": c.resolution}
    return {}


def sharing_of(cfg: EdgeConfig) -> Sharing:
    """What *cfg* shares, per camera and per destination."""
    cameras: dict[str, dict[str, object]] = {
        c.name: {
            "private": c.private,
            "masks_sha256": masks_sha256(c),
            "masks": [m.name for m in c.privacy_masks],
        }
        for c in cfg.cameras
    }
    destinations: dict[str, dict[str, object]] = {
        d.name: {"cameras": list(d.cameras), "kinds": list(d.kinds)} for d in cfg.destinations
    }
    return {"cameras": cameras, "destinations": destinations}


def changes(old: Sharing, new: Sharing) -> list[tuple[str, str, str, dict[str, object]]]:
    """(kind, name, sha256, old and new values) of each camera and destination whose sharing
    differs between *old* and *new* (one added or removed too: its other side is None)."""
    out: list[tuple[str, str, str, dict[str, object]]] = []
    for kind, section in (("camera", "cameras"), ("destination", "destinations")):
        before, after = old.get(section, {}), new.get(section, {})
        for name in sorted(set(before) | set(after)):
            was, now = before.get(name), after.get(name)
            if was == now:
                continue
            fields: dict[str, object] = {}
            for key in sorted(set(was or {}) | set(now or {})):
                fields[f"old_{key}"] = (was or {}).get(key)
                fields[f"new_{key}"] = (now or {}).get(key)
            digest = (now or was or {}).get("masks_sha256") or _sha256(now)
            out.append((kind, name, str(digest), fields))
    return out


def _read(path: Path) -> Sharing | None:
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.error("sharing.state_unreadable", path=str(path), error=str(e),
                  note="every camera and destination is recorded as new")  # fmt: skip
        return {"cameras": {}, "destinations": {}}
    if not isinstance(raw, dict):
        log.error("sharing.state_unreadable", path=str(path), error="not a JSON object")
        return {"cameras": {}, "destinations": {}}
    return raw


def _write(path: Path, sharing: Sharing) -> None:
    """Replace *path* with *sharing* durably (a crash leaves the old file or the new)."""
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(sharing, sort_keys=True, indent=1).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def record_sharing(cfg: EdgeConfig, audit: Appends) -> list[dict[str, object]]:
    """Append a ``sharing_change`` record to *audit* for each camera or destination whose
    sharing differs from the last run's, then remember this run's; returns the records.
    Never raises for the disk: a record or file that cannot be written is logged (the node
    runs on) and the change is recorded at the next start."""
    path = cfg.data_dir / STATE_NAME
    new = sharing_of(cfg)
    old = _read(path)
    records: list[dict[str, object]] = []
    try:
        for kind, name, digest, fields in changes(old, new) if old is not None else []:
            if kind == "camera":
                polygons = mask_polygons(cfg, name)
                extra = {**fields, **polygons}
                records.append(audit.append(ACTION, kind, name, None, digest, camera=name, **extra))
            else:
                records.append(audit.append(ACTION, kind, name, name, digest, **fields))
            log.warning("sharing.changed", **{kind: name}, **fields)
        if old != new:
            _write(path, new)
    except OSError as e:
        log.error("sharing.record_failed", path=str(path), error=e.strerror or str(e),
                  note="recorded at the next start")  # fmt: skip
    return records
