"""The whole node config: one section per concern, checked across sections."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from edge.config.base import Section
from edge.config.cameras import CameraConfig
from edge.config.capacity import MAX_CAMERAS, CapacityConfig
from edge.config.clips import ClipConfig
from edge.config.detection import DetectorConfig
from edge.config.node import HealthConfig, LoggingConfig, NodeConfig
from edge.config.rules import RulesConfig
from edge.config.sensors import GpioConfig, OutputConfig, SensorConfig
from edge.config.transport import DestinationConfig, OutboxConfig


def _first_duplicate(section: str, names: Iterable[str]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(
                f"{section}[{i}].name: duplicate name {name!r} (also {section}[{seen[name]}])"
            )
        seen[name] = i


def siren_kinds(cfg: EdgeConfig) -> set[str]:
    """Event kinds *cfg*'s node can raise at alarm severity or worse (what switches a
    siren on): smoke and tamper from their sensors; camera_fault and camera_tampered from any
    camera it opens; door_open, door_left_open and pir from sensors an arming rule names;
    person from a detecting camera an arming rule names (a camera or one of its zones)."""
    kinds: set[str] = set()
    by_kind: dict[str, set[str]] = {}
    for s in cfg.sensors:
        by_kind.setdefault(s.kind, set()).add(s.name)
    kinds.update(k for k in ("smoke", "tamper") if k in by_kind)
    opened = [c for c in cfg.cameras if not c.private]
    if opened:
        kinds.update(("camera_fault", "camera_tampered"))
    armed = {a.sensor for a in cfg.rules.arming if a.sensor}
    if by_kind.get("door", set()) & armed:
        kinds.update(("door_open", "door_left_open"))
    if by_kind.get("pir", set()) & armed:
        kinds.add("pir")
    watched = {a.camera or (a.zone or "").split("/")[0] for a in cfg.rules.arming}
    if any(c.name in watched and c.detection.enabled for c in opened):
        kinds.add("person")
    return kinds


class EdgeConfig(Section):
    """Everything one node needs to run."""

    node: NodeConfig = Field(description="Identity of the node.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Structured logging.")
    cameras: list[CameraConfig] = Field(
        default_factory=list,
        max_length=MAX_CAMERAS,
        description="Cameras on this node (how many this board carries: [capacity]).",
    )
    detector: DetectorConfig = Field(
        default_factory=DetectorConfig, description="Person detector shared by the cameras."
    )
    gpio: GpioConfig = Field(default_factory=GpioConfig, description="GPIO pin factory.")
    sensors: list[SensorConfig] = Field(
        default_factory=list, max_length=28, description="GPIO inputs."
    )
    outputs: list[OutputConfig] = Field(
        default_factory=list, max_length=8, description="Siren relays and status lamps."
    )
    destinations: list[DestinationConfig] = Field(
        default_factory=list, max_length=8, description="Brokers that receive events."
    )
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, description="Durable outbox.")
    clips: ClipConfig = Field(default_factory=ClipConfig, description="Clips and retention.")
    health: HealthConfig = Field(default_factory=HealthConfig, description="Heartbeats.")
    capacity: CapacityConfig = Field(
        default_factory=CapacityConfig,
        description="How many cameras this board carries at their resolution and fps.",
    )
    rules: RulesConfig = Field(
        default_factory=RulesConfig, description="Arming schedules and incident correlation."
    )

    @field_validator("cameras", mode="before")
    @classmethod
    def _not_too_many(cls, v: object) -> object:
        """Past the absolute bound, say so in words (not the whole list back)."""
        if isinstance(v, list) and len(v) > MAX_CAMERAS:
            raise ValueError(
                f"{len(v)} cameras: a node takes at most {MAX_CAMERAS} whatever the board; "
                "move cameras to a second node"
            )
        return v

    @field_validator("cameras")
    @classmethod
    def _unique_cameras(cls, v: list[CameraConfig]) -> list[CameraConfig]:
        _first_duplicate("cameras", (c.name for c in v))
        return v

    @field_validator("destinations")
    @classmethod
    def _unique_destinations(cls, v: list[DestinationConfig]) -> list[DestinationConfig]:
        _first_duplicate("destinations", (d.name for d in v))
        return v

    @field_validator("sensors")
    @classmethod
    def _unique_sensors(cls, v: list[SensorConfig]) -> list[SensorConfig]:
        _first_duplicate("sensors", (s.name for s in v))
        return v

    @model_validator(mode="after")
    def _rule_targets_exist(self) -> EdgeConfig:
        sensors = {s.name for s in self.sensors}
        cams = {c.name: {z.name for z in c.zones} for c in self.cameras}
        for i, a in enumerate(self.rules.arming):
            where = f"rules.arming[{i}]"
            if a.sensor is not None and a.sensor not in sensors:
                raise ValueError(f"{where}.sensor: no sensor named {a.sensor!r}")
            if a.camera is not None and a.camera not in cams:
                raise ValueError(f"{where}.camera: no camera named {a.camera!r}")
            if a.zone is not None:
                cam, zone = a.zone.split("/", 1)
                if zone not in cams.get(cam, set()):
                    raise ValueError(f"{where}.zone: camera {cam!r} has no zone {zone!r}")
        return self

    @model_validator(mode="after")
    def _one_device_per_pin(self) -> EdgeConfig:
        owners: dict[int, str] = {}
        devices = [(f"sensors[{i}]", s.name, s.pin) for i, s in enumerate(self.sensors)]
        devices += [(f"outputs[{i}]", o.name, o.pin) for i, o in enumerate(self.outputs)]
        for where, name, pin in devices:
            if pin in owners:
                raise ValueError(
                    f"{where}.pin: GPIO{pin} is already used by {owners[pin]}; {name!r} needs "
                    "a pin of its own"
                )
            owners[pin] = f"{where} ({name!r})"
        _first_duplicate("outputs", (o.name for o in self.outputs))
        return self

    @model_validator(mode="after")
    def _sirens_can_sound(self) -> EdgeConfig:
        """A siren's ``kinds`` name only alarms this node can raise: a kind nothing raises
        (``fire``), or raises below alarm severity, would leave the siren silent."""
        can = siren_kinds(self)
        for i, out in enumerate(self.outputs):
            if out.kind != "siren" or "kinds" not in out.model_fields_set:
                continue
            for kind in out.kinds:
                if kind != "*" and kind not in can:
                    valid = (
                        ", ".join(sorted(can))
                        if can
                        else "none (no smoke or tamper sensor, no camera, nothing armed)"
                    )
                    raise ValueError(
                        f"outputs[{i}].kinds: no sensor, camera or arming rule of this node "
                        f"raises {kind!r} as an alarm, so the siren would never sound for it; "
                        f"kinds this node can sound it for: {valid}, or '*'"
                    )
        return self

    @model_validator(mode="after")
    def _shared_cameras_exist(self) -> EdgeConfig:
        names = {c.name for c in self.cameras}
        for i, d in enumerate(self.destinations):
            for cam in d.cameras:
                if cam != "*" and cam not in names:
                    raise ValueError(f"destinations[{i}].cameras: no camera named {cam!r}")
        return self

    @model_validator(mode="after")
    def _linked_cameras_exist(self) -> EdgeConfig:
        names = {c.name for c in self.cameras}
        for i, s in enumerate(self.sensors):
            for cam in s.cameras:
                if cam not in names:
                    raise ValueError(
                        f"sensors[{i}].cameras: no camera named {cam!r} "
                        f"(cameras: {', '.join(sorted(names)) or 'none'})"
                    )
        return self

    @property
    def data_dir(self) -> Path:
        """Directory for all state of this node."""
        return Path(self.node.data_dir)

    @property
    def clips_dir(self) -> Path:
        """Directory of clips, manifests and snapshots."""
        return Path(self.clips.directory) if self.clips.directory else self.data_dir / "clips"

    @property
    def key_path(self) -> Path:
        """The node's Ed25519 signing key."""
        return self.data_dir / "keys" / "node-ed25519.pem"

    @property
    def audit_path(self) -> Path:
        """The hash-chained audit log."""
        return self.data_dir / "audit.log"

    @property
    def outbox_path(self) -> Path:
        """SQLite file of the outbox."""
        return Path(self.outbox.path) if self.outbox.path else self.data_dir / "outbox.sqlite"
