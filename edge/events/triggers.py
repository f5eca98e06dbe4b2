"""Which events open and close clips, on which cameras; stamps the clip id on the event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from edge.events.model import Event, Kind, State
from edge.events.scope import CameraScope

#: Kinds that hold a clip open on their camera (or on a sensor's linked cameras).
CLIP_KINDS = {
    Kind.PERSON,
    Kind.DOOR_OPEN,
    Kind.DOOR_LEFT_OPEN,
    Kind.SMOKE,
    Kind.TAMPER,
    Kind.PIR,
    Kind.CAMERA_TAMPERED,
}


class ClipHolder(Protocol):
    """One camera's clip recorder as the events see it (``edge.clips.recorder.ClipRecorder``)."""

    def hold(self, key: str, event_id: str) -> str | None:
        """Keep a clip open for activity *key*; returns the clip's id (None: no clip)."""
        ...

    def release(self, key: str, event_id: str) -> str | None:
        """Activity *key* ended: the clip closes after its post-roll; returns its id."""
        ...


class ClipTriggers:
    """Holds clips open from an event's START to its END; an INSTANT event holds and releases
    at once (pre-roll before it, post-roll after it)."""

    def __init__(
        self,
        recorders: Mapping[str, ClipHolder],
        scope: CameraScope,
    ) -> None:
        self.recorders = recorders
        self.scope = scope

    def apply(self, event: Event) -> Event:
        """Open/extend/close clips for *event*; returns it with ``clip_id`` (and, for sensors
        with several cameras, ``data.clip_ids``)."""
        if event.kind not in CLIP_KINDS:
            return event
        ids: list[str] = []
        for cam in self.scope.of_event(event):
            rec = self.recorders.get(cam)
            if rec is None:
                continue
            if event.state in (State.START, State.UPDATE, State.INSTANT):
                clip = rec.hold(event.occurrence, event.id)
                if event.state is State.INSTANT:
                    rec.release(event.occurrence, event.id)
            else:
                clip = rec.release(event.occurrence, event.id)
            if clip:
                ids.append(clip)
        if not ids:
            return event
        data = {**event.data, "clip_ids": ids} if len(ids) > 1 else event.data
        return replace(event, clip_id=ids[0], data=data)
