"""The shapes of a sharing report's ``report.json`` as the node writes it (the JSON a third
party reads back is ``object`` until narrowed: :mod:`edge.core.jsonshape`)."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class ReportPeriod(TypedDict):
    """From ``since`` (inclusive) to ``until`` (exclusive), UNIX seconds."""

    since: float
    until: float


class ReportItem(TypedDict):
    """One delivered item (:mod:`edge.report.items`); a field the chain does not give is
    None."""

    type: str
    id: str
    site: str | None
    node: str | None
    camera: str | None
    kind: str | None
    sha256: str | None
    time: float | None
    destination: str | None
    audit_seq: int | None
    sensor: NotRequired[str | None]
    """An event's sensor (a GPIO sensor's event has no camera)."""


class Mask(TypedDict):
    """A privacy mask as drawn: its name and points (None: no record names them)."""

    name: str
    points: list[list[float]] | None


class ReportCamera(TypedDict):
    """A camera in force at the period's end."""

    private: bool
    masks: list[Mask]
    masks_sha256: str | None
    resolution: list[int] | None
    overlay: str | None
    overlay_base: NotRequired[str]
    masks_in_period: NotRequired[list[str]]


class ScopeRule(TypedDict):
    """What a destination gets: its cameras and kinds (``*``: all)."""

    cameras: list[str]
    kinds: list[str]


class ScopeChange(TypedDict):
    """A ``sharing_change`` of the period: a camera's or a destination's old and new values
    (None: absent then)."""

    time: float
    audit_seq: int
    camera: NotRequired[str]
    destination: NotRequired[str]
    old: dict[str, object] | None
    new: dict[str, object] | None
    new_polygons: NotRequired[object]
    new_resolution: NotRequired[object]


class Retention(TypedDict):
    """The node's own retention of clips and snapshots."""

    clips_enabled: bool
    max_bytes: int
    keep_free_bytes: int
    max_age_days: float
    note: str


class ChainSummary(TypedDict):
    """The stretch of the audit chain the report copies."""

    first_seq: int | None
    last_seq: int | None
    signed_to_seq: int | None
    records: str
    notices: list[dict[str, object]]
    log_last_seq: int


class SharingReport(TypedDict):
    """``report.json``."""

    schema: str
    site: str
    node: str
    key_id: str
    period: ReportPeriod
    generated: float
    destination: str | None
    delivered: list[ReportItem]
    counts: dict[str, dict[str, dict[str, int]]]
    cameras: dict[str, ReportCamera]
    scope: dict[str, ScopeRule]
    scope_history: list[ScopeChange]
    retention: Retention
    chain: ChainSummary
