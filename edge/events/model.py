"""One event model for everything the node reports, serialised as versioned JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge.core.ids import new_id
from edge.core.kinds import Kind, Severity, State

SCHEMA = "warehouse-edge/event/1"

__all__ = ["SCHEMA", "Event", "Kind", "Severity", "State", "utc_iso"]


def utc_iso(ts: float) -> str:
    """Unix seconds -> RFC 3339 UTC with milliseconds."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Event:
    """One report. ``occurrence`` ties start/update/end of the same thing together."""

    kind: Kind
    severity: Severity
    state: State
    node: str
    site: str
    ts: float
    occurrence: str
    camera: str | None = None
    sensor: str | None = None
    zones: tuple[str, ...] = ()
    incident: str | None = None
    clock_synced: bool = False
    mask_hash: str | None = None
    clip_id: str | None = None
    snapshot_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of schema :data:`SCHEMA`."""
        return {
            "schema": SCHEMA,
            "id": self.id,
            "kind": str(self.kind),
            "severity": str(self.severity),
            "state": str(self.state),
            "occurrence": self.occurrence,
            "incident": self.incident,
            "node": self.node,
            "site": self.site,
            "time": utc_iso(self.ts),
            "clock_synced": self.clock_synced,
            "camera": self.camera,
            "sensor": self.sensor,
            "zones": list(self.zones),
            "mask_hash": self.mask_hash,
            "clip_id": self.clip_id,
            "snapshot_id": self.snapshot_id,
            "data": self.data,
        }

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()
