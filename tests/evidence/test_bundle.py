"""Signed bundles: a directory signed file by file, checked offline with the public key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.evidence.bundle import (
    SIGNATURE_NAME,
    BundleError,
    read_signature,
    sign_bundle,
    verify_bundle,
)
from edge.evidence.keys import NodeKey


@pytest.fixture
def key(tmp_path: Path) -> NodeKey:
    """A fresh node key."""
    return NodeKey.create(tmp_path / "keys" / "node.key")


def bundle(tmp_path: Path, key: NodeKey) -> Path:
    """A signed bundle of two files, one in a subdirectory."""
    d = tmp_path / "report"
    (d / "overlays").mkdir(parents=True)
    (d / "report.json").write_text('{"a": 1}\n')
    (d / "overlays" / "cam.png").write_bytes(b"\x89PNG fake")
    sign_bundle(d, key, key.public, "warehouse-edge/test/1")
    return d


def test_a_signed_bundle_verifies_with_its_makers_key(tmp_path: Path, key: NodeKey) -> None:
    """As signed: no problem, the content and key named."""
    d = bundle(tmp_path, key)
    check = verify_bundle(d, key.public)
    assert check.ok, check.problems
    assert check.content == "warehouse-edge/test/1" and check.key_id == key.id
    assert set(read_signature(d)["files"]) == {"report.json", "overlays/cam.png"}


def test_a_changed_added_or_removed_file_is_named(tmp_path: Path, key: NodeKey) -> None:
    """Each change to the files after signing is a problem naming the file."""
    d = bundle(tmp_path, key)
    (d / "report.json").write_text('{"a": 2}\n')
    (d / "overlays" / "cam.png").unlink()
    (d / "extra.txt").write_text("x")
    problems = "\n".join(verify_bundle(d, key.public).problems)
    assert "report.json: changed" in problems
    assert "overlays/cam.png: listed" in problems
    assert "extra.txt: not in" in problems


def test_another_key_or_an_edited_signature_does_not_verify(tmp_path: Path, key: NodeKey) -> None:
    """Re-listing a changed file's hash breaks the signature; another key is named."""
    d = bundle(tmp_path, key)
    other = NodeKey.create(tmp_path / "other" / "node.key")
    assert any("signed by key" in p for p in verify_bundle(d, other.public).problems)
    sig = json.loads((d / SIGNATURE_NAME).read_text())
    (d / "report.json").write_text("{}\n")
    sig["files"]["report.json"] = "0" * 64
    (d / SIGNATURE_NAME).write_text(json.dumps(sig))
    assert any("does not verify" in p for p in verify_bundle(d, key.public).problems)


def test_a_directory_without_a_signature_is_a_clear_error(tmp_path: Path, key: NodeKey) -> None:
    """No SIGNATURE.json: one problem naming the file; signing a missing directory refuses."""
    (tmp_path / "plain").mkdir()
    assert "missing" in verify_bundle(tmp_path / "plain", key.public).problems[0]
    with pytest.raises(BundleError, match="not a directory"):
        sign_bundle(tmp_path / "nope", key, key.public, "x")
