"""The vocabulary every stage and the config share: what an event is about, how urgent it
is, where it is in its life, and which kinds of message a destination may receive."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What happened (the ``kind`` of an event)."""

    MOTION = "motion"
    PERSON = "person"
    DOOR_OPEN = "door_open"
    DOOR_LEFT_OPEN = "door_left_open"
    SMOKE = "smoke"
    TAMPER = "tamper"
    PIR = "pir"
    CAMERA_FAULT = "camera_fault"
    CAMERA_RESTORED = "camera_restored"
    CAMERA_TAMPERED = "camera_tampered"
    LIGHTS_OFF = "lights_off"
    """A camera's whole view went dark (START) and is lit again (END): not tampering."""
    SENSOR_FAULT = "sensor_fault"
    CLIP_LOST = "clip_lost"
    """A clip that could not be made (``data``: its time range and why); INSTANT."""
    OUTBOX_RECOVERED = "outbox_recovered"
    """The outbox file was damaged or lost and rebuilt (``data``: recovered, lost, lost_ids,
    reason, kept_as); INSTANT, alarm class."""
    NODE_HEALTH = "node_health"


class Severity(StrEnum):
    """How urgently a human should look."""

    INFO = "info"
    WARNING = "warning"
    ALARM = "alarm"
    CRITICAL = "critical"


class State(StrEnum):
    """Lifecycle of an occurrence: one that lasts has start, updates, end."""

    START = "start"
    UPDATE = "update"
    END = "end"
    INSTANT = "instant"


class MessageKind(StrEnum):
    """Kinds of message the node sends besides events (a destination's ``kinds`` names
    event kinds and these)."""

    CLIP = "clip"
    SNAPSHOT = "snapshot"


ALL_KINDS = "*"
"""In a destination's ``kinds`` or ``cameras``: everything."""

MESSAGE_KINDS: frozenset[str] = frozenset({*map(str, Kind), *map(str, MessageKind)})
"""Every kind a destination can name in ``kinds`` (besides ``*``)."""
