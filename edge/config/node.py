"""Identity of this node and where it keeps its state."""

from __future__ import annotations

from pydantic import Field, field_validator

from edge.config.base import Section, absolute_path
from edge.config.overload import OverloadConfig

_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class NodeConfig(Section):
    """Who this node is. The id and site appear in every topic and event."""

    id: str = Field(
        pattern=_ID,
        description="Node id, unique per site: lower-case letters, digits, '-' and '_'.",
    )
    site: str = Field(
        pattern=_ID,
        description="Site (warehouse) id: lower-case letters, digits, '-' and '_'.",
    )
    data_dir: str = Field(
        default="/var/lib/warehouse-edge",
        min_length=1,
        description="Directory for the outbox, clips, keys and the audit log; an absolute "
        "path (systemd starts the node in /).",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, v: str) -> str:
        return absolute_path(v)


class LoggingConfig(Section):
    """Where and how structured log events go."""

    level: str = Field(
        default="info",
        pattern=r"^(debug|info|warning|error)$",
        description="Lowest level logged: debug, info, warning or error.",
    )
    format: str = Field(
        default="auto",
        pattern=r"^(auto|console|json|journal)$",
        description=(
            "auto: journald when started by systemd with journal output, else console on a "
            "terminal and JSON lines otherwise."
        ),
    )


class HealthConfig(Section):
    """The heartbeat each broker receives."""

    interval_s: float = Field(
        default=60.0, ge=5, le=3600, description="Seconds between heartbeats (retained)."
    )
    overload: OverloadConfig = Field(
        default_factory=OverloadConfig,
        description="When the node reports itself overloaded (dropped analysis frames, lag).",
    )
