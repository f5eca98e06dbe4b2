"""docs/node-config.md's example host vars (a node in Semarang): rendered by the role's
template they give a node.toml that check-config accepts, with every mask, zone, output,
rule and destination they name; the doc's commands are run by test_node_config_chroot.py."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml  # type: ignore[import-untyped,unused-ignore]
from rolerender import render

from edge.cli.main import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "node-config.md"
MARKER = (
    "<!-- the host vars below are rendered and checked by tests/deploy/test_node_config_docs.py -->"
)


def doc_host_vars() -> str:
    """The YAML block after the marker."""
    return DOC.read_text().split(MARKER, 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_documented_host_vars_render_a_valid_config(tmp_path: Path) -> None:
    """The example renders, passes check-config, and node.toml holds its masks (with the
    resolution), zones, sensors, outputs, schedules and arming in Asia/Jakarta, and the
    police destination limited to gudang-a and gudang-b."""
    text = doc_host_vars()
    want = yaml.safe_load(text)
    run, out = render(tmp_path, text)
    assert run.returncode == 0, run.stdout + run.stderr
    creds = tmp_path / "creds"
    creds.mkdir()
    assert main(["check-config", "--no-preflight", "--credentials", str(creds), str(out)]) == 0
    cfg = tomllib.loads(out.read_text())
    cams = {c["name"]: c for c in cfg["cameras"]}
    (gudang_a,) = (c for c in want["warehouse_edge_cameras"] if c["name"] == "gudang-a")
    assert cams["gudang-a"]["privacy_masks"] == gudang_a["privacy_masks"]
    assert cams["gudang-a"]["resolution"] == [640, 360] and cams["ruang-ganti"]["private"]
    assert cfg["node"]["site"] == "semarang-gudang-utara"
    assert cfg["rules"]["timezone"] == "Asia/Jakarta"
    assert cfg["rules"]["arming"] == want["warehouse_edge_rules"]["arming"]
    assert [o["kind"] for o in cfg["outputs"]] == ["siren", "status_led"]
    police, operator = cfg["destinations"]
    assert police["cameras"] == ["gudang-a", "gudang-b"] and operator["name"] == "operator"
