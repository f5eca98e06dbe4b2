"""Helpers of the audit-chain tests: a node's real audit log written over simulated minutes
(records every few seconds, a checkpoint at every heartbeat whose head the receiver
archives), what someone without the key can do to it, and `edge audit verify` as run from a
shell."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nodecfg import node_config

from edge.cli.main import main
from edge.config.loader import loads
from edge.config.root import EdgeConfig
from edge.evidence.audit import GENESIS, AuditLog, record_hash
from edge.evidence.chain import checkpoint_message, record_line
from edge.evidence.keys import NodeKey, public_pem


@dataclass
class Clock:
    """Simulated Unix time for the log's records."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        """The current simulated time."""
        return self.now


@dataclass
class NodeLog:
    """A node's audit log, its key and what the receiver archived."""

    cfg: EdgeConfig
    key: NodeKey
    clock: Clock
    heads: list[tuple[str, float]]
    """Heads the heartbeats carried, oldest first, with their times."""
    pem: Path
    """The public key as `edge keys export` hands it over."""

    @property
    def path(self) -> Path:
        """The audit log."""
        return self.cfg.audit_path

    @property
    def state(self) -> Path:
        """The head state beside it."""
        return self.cfg.audit_path.with_name("audit.head")

    def heads_file(self, path: Path) -> Path:
        """The archived heads as `edge receive heads SITE/NODE --json` prints them."""
        rows = [{"head": h, "time": t} for h, t in reversed(self.heads)]
        path.write_text(json.dumps(rows, indent=2))
        return path


def node_config_file(tmp_path: Path, node: str = "gudang-07") -> tuple[Path, EdgeConfig]:
    """A node config (its key made by `edge keys init`, as an installer does)."""
    cfg_file = tmp_path / "node.toml"
    cfg_file.write_text(node_config(tmp_path / "data", node, "semarang", mock_gpio=True))
    return cfg_file, loads(cfg_file.read_text())


def run_log(
    log: AuditLog, nl: NodeLog, seconds: float, every_s: float = 5.0, interval_s: float = 60.0
) -> None:
    """*seconds* of a node's life: a record every *every_s*, a heartbeat (checkpoint, head
    archived) every *interval_s*, the first at once."""
    end, beat = nl.clock.now + seconds, nl.clock.now
    n = len(nl.heads) * 1000
    while nl.clock.now < end:
        if nl.clock.now >= beat:
            log.checkpoint()
            nl.heads.append((log.head, nl.clock.now))
            beat += interval_s
        log.append("shared", "door_open", f"e{n}", "police", f"{n:064x}", topic="events")
        nl.clock.now += every_s
        n += 1


def node_log(tmp_path: Path, seconds: float = 600.0, interval_s: float = 60.0) -> NodeLog:
    """A node's log over *seconds* (a record every 5 s, a heartbeat every *interval_s*)."""
    _, cfg = node_config_file(tmp_path)
    key = NodeKey(cfg.key_path)
    pem = tmp_path / "gudang-07.pem"
    pem.write_text(public_pem(key.public))
    nl = NodeLog(cfg, key, Clock(time.time() + 1), [], pem)
    run_log(AuditLog(cfg.audit_path, signer=key, clock=nl.clock), nl, seconds, 5.0, interval_s)
    return nl


def lines(path: Path) -> list[dict[str, Any]]:
    """The records of the log."""
    return [json.loads(x) for x in path.read_bytes().splitlines()]


def recompute(records: list[dict[str, Any]]) -> bytes:
    """What someone without the key can do: renumber and rehash every record."""
    prev, out = GENESIS, []
    for seq, original in enumerate(records, 1):
        rec = {**original, "seq": seq, "prev": prev}
        rec["hash"] = record_hash(rec)
        prev = rec["hash"]
        out.append(record_line(rec))
    return b"".join(out)


def sign_silently(path: Path, key: NodeKey, when: float) -> None:
    """Append a record and a checkpoint signed by *key* with no key_change before them: what
    a node did before it recorded key changes (a swapped key used silently)."""
    last = lines(path)[-1]
    record = {"seq": last["seq"] + 1, "time": when, "action": "shared", "kind": "door_open",
              "id": "silent", "destination": "police", "sha256": "0" * 64,
              "prev": last["hash"]}  # fmt: skip
    record["hash"] = record_hash(record)
    signature = key.sign(checkpoint_message(record["hash"], record["seq"], when, key.id))
    checkpoint = {"seq": record["seq"] + 1, "time": when, "action": "checkpoint", "kind": "audit",
                  "id": str(record["seq"]), "destination": None, "sha256": record["hash"],
                  "head": record["hash"], "head_seq": record["seq"], "key_id": key.id,
                  "alg": "Ed25519", "signature": base64.b64encode(signature).decode(),
                  "prev": record["hash"]}  # fmt: skip
    checkpoint["hash"] = record_hash(checkpoint)
    with path.open("ab") as f:
        f.write(record_line(record) + record_line(checkpoint))


def verify(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> tuple[int, str]:
    """`edge audit verify PATH ARGS`: exit status, stdout and stderr together."""
    code = main(["audit", "verify", str(path), *args])
    out = capsys.readouterr()
    return code, out.out + out.err
