"""A change to what the node shares is audited at its next start: a camera's privacy masks
(old and new hash), its private flag, and the cameras a destination gets, each one
``sharing_change`` record in the verified chain; an unchanged start and the first start
record nothing; a change that could not be recorded is recorded at the next start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge.config.loader import loads
from edge.config.root import EdgeConfig
from edge.evidence.audit import verify_log
from edge.node.sharing_audit import STATE_NAME, masks_sha256, record_sharing
from edge.node.stateparts import StateParts

MASK_A = "[[0, 0], [320, 0], [320, 240], [0, 240]]"
MASK_B = "[[0, 0], [400, 0], [400, 300], [0, 300]]"


def _config(
    data: Path, mask: str, *, private: bool = True, shared: str = '"gudang-a"'
) -> EdgeConfig:
    return loads(f"""
[node]
id = "gudang-01"
site = "semarang-gudang-utara"
data_dir = "{data}"

[[cameras]]
name = "gudang-a"
detect = {{ kind = "rtsp", url = "rtsp://10.20.0.11/sub" }}
resolution = [1280, 720]
privacy_masks = [{{ name = "kantor kepala gudang", points = {mask} }}]

[[cameras]]
name = "ruang-ganti"
private = {str(private).lower()}
detect = {{ kind = "rtsp", url = "rtsp://10.20.0.12/sub" }}

[[destinations]]
name = "police"
host = "localhost"
allow_insecure = true
cameras = [{shared}]
""")


def _records(data: Path) -> list[dict[str, Any]]:
    lines = (data / "audit.log").read_text().splitlines() if (data / "audit.log").exists() else []
    return [r for r in map(json.loads, lines) if r["action"] == "sharing_change"]


def test_a_mask_change_is_audited_at_the_next_start(tmp_path: Path) -> None:
    """The first start remembers what it shares (no record); the same config again records
    nothing; a changed mask, a camera made shared and a destination given another camera
    are three records naming the camera or destination with the old and new values, and
    the chain verifies."""
    data = tmp_path / "data"
    first = _config(data, MASK_A)
    StateParts(first)
    assert _records(data) == [] and (data / STATE_NAME).exists()
    StateParts(first)
    assert _records(data) == []
    changed = _config(data, MASK_B, private=False, shared='"gudang-a", "ruang-ganti"')
    StateParts(changed)
    by_id = {r["id"]: r for r in _records(data)}
    assert set(by_id) == {"gudang-a", "ruang-ganti", "police"}
    cam = by_id["gudang-a"]
    assert cam["kind"] == "camera" and cam["camera"] == "gudang-a"
    assert cam["old_masks_sha256"] == masks_sha256(first.cameras[0])
    assert cam["new_masks_sha256"] == masks_sha256(changed.cameras[0]) == cam["sha256"]
    assert cam["old_masks_sha256"] != cam["new_masks_sha256"]
    assert cam["new_masks"] == ["kantor kepala gudang"]
    private = by_id["ruang-ganti"]
    assert (private["old_private"], private["new_private"]) == (True, False)
    dest = by_id["police"]
    assert dest["kind"] == "destination" and dest["destination"] == "police"
    assert (dest["old_cameras"], dest["new_cameras"]) == (["gudang-a"], ["gudang-a", "ruang-ganti"])
    check = verify_log(data / "audit.log")
    assert check.ok and check.records == 3, check
    StateParts(changed)
    assert len(_records(data)) == 3


class _FullDisk:
    """An audit log on a full disk: every append fails."""

    def append(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Raise ENOSPC as the real log does when it cannot store a record."""
        raise OSError(28, "No space left on device")


def test_a_change_not_recorded_is_recorded_at_the_next_start(tmp_path: Path) -> None:
    """When the record cannot be stored the node runs on and does not remember the new
    masks, so the next start (disk freed) records the change."""
    data = tmp_path / "data"
    StateParts(_config(data, MASK_A))
    changed = _config(data, MASK_B)
    assert record_sharing(changed, _FullDisk()) == []
    StateParts(changed)
    (rec,) = _records(data)
    assert rec["id"] == "gudang-a" and rec["new_masks_sha256"] == masks_sha256(changed.cameras[0])
