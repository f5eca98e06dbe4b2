"""Evidence continuity: the node never makes its signing key by itself. A key comes only from
`edge keys init` (once, recorded in the audit chain); a node or `edge keys export` without
one fails with a clear message naming the file and that command, and creates nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from nodecfg import node_config

from edge.cli.main import main
from edge.config.loader import loads
from edge.evidence.audit import verify_log
from edge.evidence.keys import NodeKey, SigningKeyError, load_public
from edge.node.node import Node

pytestmark = pytest.mark.faults


def _config(tmp_path: Path) -> Path:
    """A node config whose data directory has no key yet (not through node_config)."""
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        f'[node]\nid = "k1"\nsite = "s1"\ndata_dir = "{tmp_path / "data"}"\n'
        '[gpio]\nfactory = "mock"\n'
    )
    return cfg


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_keys_init_makes_records_and_never_replaces_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`edge keys init` makes the key 0600 in a 0700 directory, prints its id and public key,
    and records key_init (key id, public key) in the audit chain, signed right after by the
    new key. A second init refuses, leaving the key and the chain as they were."""
    cfg_file = _config(tmp_path)
    cfg = loads(cfg_file.read_text())
    assert main(["keys", "init", "-c", str(cfg_file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    key = NodeKey(cfg.key_path)
    assert out["key_id"] == key.id and load_public(out["public_key_pem"]) is not None
    assert cfg.key_path.stat().st_mode & 0o777 == 0o600
    assert cfg.key_path.parent.stat().st_mode & 0o777 == 0o700
    records = [json.loads(x) for x in cfg.audit_path.read_text().splitlines()]
    assert records[0]["action"] == "key_init" and records[0]["key_id"] == key.id
    assert records[0]["public_key"] == out["public_key_pem"]
    assert records[1]["action"] == "checkpoint" and records[1]["key_id"] == key.id
    assert verify_log(cfg.audit_path, [key.public]).ok

    pem, chain = cfg.key_path.read_bytes(), cfg.audit_path.read_bytes()
    assert main(["keys", "init", "-c", str(cfg_file)]) == 1
    err = capsys.readouterr().err
    assert str(cfg.key_path) in err and "refusing to replace it" in err
    assert cfg.key_path.read_bytes() == pem and cfg.audit_path.read_bytes() == chain
    with pytest.raises(SigningKeyError, match="refusing"):
        NodeKey.create(cfg.key_path)


def test_export_without_a_key_fails_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`edge keys export` on a node without a key exits 1 naming the key file and the
    command to run, and writes nothing (no key, no directory)."""
    cfg_file = _config(tmp_path)
    before = _tree(tmp_path)
    assert main(["keys", "export", "-c", str(cfg_file)]) == 1
    err = capsys.readouterr().err
    key_path = tmp_path / "data" / "keys" / "node-ed25519.pem"
    assert f"{key_path}: the node's signing key is missing" in err
    assert f"edge keys init --config {cfg_file}" in err
    assert _tree(tmp_path) == before


def test_a_node_that_lost_its_key_runs_degraded_and_makes_no_new_one(tmp_path: Path) -> None:
    """A node whose key is gone (after it signed evidence) does not quietly make a new one:
    it is built and runs degraded (life safety first: tests/node/test_life_safety.py), its
    state naming the key file (``signing_key_unusable:PATH``); no key appears and the chain
    still names the lost key."""
    cfg_file = tmp_path / "node.toml"
    cfg_file.write_text(node_config(tmp_path / "data", "lost", mock_gpio=True))
    cfg = loads(cfg_file.read_text())
    old_id = NodeKey(cfg.key_path).id
    os.unlink(cfg.key_path)
    node = Node(cfg)
    try:
        assert f"signing_key_unusable:{cfg.key_path}" in node.standing()
        assert node.key.id in ("", None)
    finally:
        node.outbox.close()
        node.store.close()
    assert not cfg.key_path.exists() and not list(cfg.key_path.parent.iterdir())
    assert old_id in cfg.audit_path.read_text()  # the chain still names the lost key
