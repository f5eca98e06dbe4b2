"""MQTT topic layout: ``PREFIX/SITE/NODE/...`` (documented in docs/mqtt.md)."""

from __future__ import annotations

from dataclasses import dataclass

EVENTS = "events"
STATUS = "status"
HEALTH = "health"


def clip_manifest(clip_id: str) -> str:
    """Relative topic of a clip's signed manifest."""
    return f"clips/{clip_id}/manifest"


def clip_chunk(clip_id: str, n: int) -> str:
    """Relative topic of chunk *n* (from 0) of a clip."""
    return f"clips/{clip_id}/{n}"


def snapshot(snapshot_id: str) -> str:
    """Relative topic of an event snapshot (one JPEG)."""
    return f"snapshots/{snapshot_id}"


@dataclass(frozen=True, slots=True)
class TopicRoot:
    """The topic root of one node at one destination."""

    prefix: str
    site: str
    node: str

    def __call__(self, relative: str) -> str:
        """Full topic for *relative*."""
        return f"{self.prefix}/{self.site}/{self.node}/{relative}"
