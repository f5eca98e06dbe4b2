"""The one place that answers "which cameras is this event about?": its own camera, or the
cameras linked to its sensor (a door's clip is cut on the cameras that watch the door)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from edge.config.sensors import SensorConfig
from edge.events.model import Event


class CameraScope:
    """Cameras of events and sensors."""

    def __init__(self, sensor_cameras: Mapping[str, Sequence[str]] | None = None) -> None:
        self._sensor_cameras = {k: tuple(v) for k, v in (sensor_cameras or {}).items()}

    @classmethod
    def from_config(cls, sensors: Sequence[SensorConfig]) -> CameraScope:
        """The scope the node's sensor config describes."""
        return cls({s.name: s.cameras for s in sensors})

    def of_sensor(self, sensor: str) -> tuple[str, ...]:
        """Cameras linked to *sensor* (none if unknown)."""
        return self._sensor_cameras.get(sensor, ())

    def of_event(self, event: Event) -> tuple[str, ...]:
        """Cameras *event* belongs to."""
        if event.camera is not None:
            return (event.camera,)
        if event.sensor is not None:
            return self.of_sensor(event.sensor)
        return ()
