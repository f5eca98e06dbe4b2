"""The receiver's ``[transparency]`` section: where the auditor's pages find the nodes'
sharing reports (``edge report``) and keep the receiver exports they make."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from edge.config.base import Section, absolute_path


class TransparencySection(Section):
    """Node reports to list and receiver exports to keep, for the auditor's pages."""

    reports_dir: str | None = Field(
        default=None,
        min_length=1,
        description="Directory under which node sharing reports (edge report --out DIR) are "
        "put for the auditor's page /audit/reports, each in its own directory (searched two "
        "levels deep); absolute. Unset: DATA_DIR/reports.",
    )
    exports_dir: str | None = Field(
        default=None,
        min_length=1,
        description="Directory where the receiver exports made from /audit/reports are kept; "
        "absolute. Unset: DATA_DIR/exports.",
    )

    @field_validator("reports_dir", "exports_dir")
    @classmethod
    def _absolute(cls, path: str | None) -> str | None:
        return None if path is None else absolute_path(path)

    def reports(self, data_dir: Path) -> Path:
        """Where the node reports are."""
        return Path(self.reports_dir) if self.reports_dir else data_dir / "reports"

    def exports(self, data_dir: Path) -> Path:
        """Where the exports made from the page go."""
        return Path(self.exports_dir) if self.exports_dir else data_dir / "exports"
