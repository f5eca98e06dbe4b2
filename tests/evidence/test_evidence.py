"""Evidence: the node key, signed manifests that a receiver can check, and an audit chain that
gives away any edit, deletion, insertion or reordering."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.core.errors import EvidenceError
from edge.evidence.audit import AuditLog, verify_log
from edge.evidence.keys import NodeKey, SigningKeyError, load_public, public_pem
from edge.evidence.manifest import (
    build_manifest,
    sign_manifest,
    verify_clip,
    verify_manifest,
)


def _log(tmp_path: Path, n: int = 6) -> Path:
    log = AuditLog(tmp_path / "audit.log")
    for i in range(n):
        log.append("shared", "person", f"event-{i}", "police", f"{i:064x}", topic="events")
    return log.path


def test_intact_log_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`edge audit verify` exits 0 on an untouched log and prints its head."""
    path = _log(tmp_path)
    assert main(["audit", "verify", str(path)]) == 0
    assert "OK, 6 records" in capsys.readouterr().out
    again = AuditLog(path)  # reopening continues the chain
    again.append("shared", "clip", "c1", "police", "f" * 64)
    assert verify_log(path).ok and verify_log(path).records == 7


def _tamper(path: Path, how: str) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    if how == "byte":
        i = lines[2].index(b"police")
        lines[2] = lines[2][:i] + b"Police" + lines[2][i + 6 :]
    elif how == "delete":
        del lines[2]
    elif how == "swap":
        lines[2], lines[3] = lines[3], lines[2]
    elif how == "insert":
        lines.insert(3, lines[1])
    path.write_bytes(b"".join(lines))


@pytest.mark.parametrize("how", ["byte", "delete", "swap", "insert"])
def test_any_change_is_caught_at_the_first_bad_record(
    tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One byte changed, a record deleted, two swapped, one inserted: exit 1, naming line 3
    (the first record that no longer follows) and why."""
    path = _log(tmp_path)
    _tamper(path, how)
    assert main(["audit", "verify", str(path)]) == 1
    err = capsys.readouterr().err
    line = 4 if how == "insert" else 3
    assert f"audit.log:{line}:" in err
    expected = {
        "byte": "altered",
        "delete": "does not follow",
        "swap": "does not follow",
        "insert": "does not follow",
    }[how]
    assert expected in err


def test_key_is_made_once_kept_private_and_exported_public(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key is created 0600 by `edge keys init` and reused after; `edge keys export`
    prints only the public half."""
    cfg = tmp_path / "node.toml"
    cfg.write_text(f'[node]\nid = "n1"\nsite = "s1"\ndata_dir = "{tmp_path / "data"}"\n')
    assert main(["keys", "init", "-c", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["keys", "export", "-c", str(cfg), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    key_file = tmp_path / "data" / "keys" / "node-ed25519.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in out["public_key_pem"] and "PUBLIC KEY" in out["public_key_pem"]
    again = NodeKey(key_file)
    assert again.id == out["key_id"]
    assert load_public(out["public_key_pem"]) is not None
    os.chmod(key_file, 0o644)
    with pytest.raises(SigningKeyError, match="readable by others"):
        NodeKey(key_file)


def _signed(tmp_path: Path) -> tuple[NodeKey, dict[str, object], Path]:
    key = NodeKey.create(tmp_path / "k.pem")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(50_000))
    manifest = build_manifest(
        clip_id="c1",
        path=clip,
        node="n",
        site="s",
        camera="hall",
        start=1.0,
        end=16.0,
        duration_s=15.0,
        event_ids=["e1"],
        mask_hash=None,
        method="remux",
    )
    return key, sign_manifest(manifest, key), clip


def test_good_manifest_and_clip_verify(tmp_path: Path) -> None:
    """A receiver with the exported public key accepts the manifest and the clip."""
    key, signed, clip = _signed(tmp_path)
    public = load_public(public_pem(key.public))
    assert verify_manifest(signed, public)["clip_id"] == "c1"
    verify_clip(signed, public, clip)
    verify_clip(signed, public, clip.read_bytes())


def test_bad_signature_is_rejected(tmp_path: Path) -> None:
    """A manifest changed after signing, or signed by another key, is refused."""
    key, signed, _ = _signed(tmp_path)
    forged = json.loads(json.dumps(signed))
    forged["manifest"]["camera"] = "office"
    with pytest.raises(EvidenceError, match="bad signature"):
        verify_manifest(forged, key.public)
    other = NodeKey.create(tmp_path / "other.pem")
    with pytest.raises(EvidenceError, match="not by the node's key"):
        verify_manifest(signed, other.public)
    with pytest.raises(EvidenceError, match="malformed"):
        verify_manifest({"manifest": {}}, key.public)


def test_clip_that_does_not_match_is_rejected(tmp_path: Path) -> None:
    """A clip with one byte changed, or cut short, fails against its signed manifest."""
    key, signed, clip = _signed(tmp_path)
    data = bytearray(clip.read_bytes())
    data[1000] ^= 0xFF
    with pytest.raises(EvidenceError, match="sha256"):
        verify_clip(signed, key.public, bytes(data))
    with pytest.raises(EvidenceError, match="bytes, manifest says"):
        verify_clip(signed, key.public, bytes(data[:-1]))
