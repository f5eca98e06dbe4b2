"""The receiver config's ``[retention]`` section: how long clips and snapshots are kept by
agreement (see :mod:`edge.receiver.retention`)."""

from __future__ import annotations

from pydantic import Field

from edge.config.base import Section

DAY = 86400


class RetentionSection(Section):
    """Clips and snapshots deleted after ``days`` unless their incident is on hold."""

    days: int = Field(
        default=0,
        ge=0,
        le=3650,
        description="Delete a clip or snapshot this many days after the receiver stored it "
        "(each deletion a record in the receiver's audit chain), unless its incident is on "
        "hold; 0 keeps everything forever (no deletion pass runs).",
    )
    check_interval_s: float = Field(
        default=3600,
        ge=60,
        le=DAY,
        description="How often the running receiver looks for what is due (and retries "
        "files that could not be deleted); also once at its start.",
    )
    batch: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="Deletions recorded in one transaction at most (a pass takes as many "
        "as are due, batch by batch).",
    )
