"""Which events open and close clips, on which cameras; stamps the clip id on the event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from edge.clips.recorder import ClipRecorder
from edge.events.model import Event, Kind, State

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


class ClipTriggers:
    """Holds clips open from an event's START to its END; an INSTANT event holds and releases
    at once (pre-roll before it, post-roll after it)."""

    def __init__(
        self,
        recorders: Mapping[str, ClipRecorder],
        sensor_cameras: Mapping[str, Sequence[str]],
    ) -> None:
        self.recorders = recorders
        self.sensor_cameras = sensor_cameras

    def cameras_of(self, event: Event) -> list[str]:
        """Cameras whose clips an event belongs to."""
        if event.camera is not None:
            return [event.camera]
        if event.sensor is not None:
            return list(self.sensor_cameras.get(event.sensor, ()))
        return []

    def apply(self, event: Event) -> Event:
        """Open/extend/close clips for *event*; returns it with ``clip_id`` (and, for sensors
        with several cameras, ``data.clip_ids``)."""
        if event.kind not in CLIP_KINDS:
            return event
        ids: list[str] = []
        for cam in self.cameras_of(event):
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
