"""What a receiver keeps in its own data directory, never in the store: its Ed25519 key
(``DATA_DIR/keys/receiver-NAME.key``, 0600 in a 0700 directory, made once at the first
acknowledgement it signs) and the last head it signed (``DATA_DIR/audit/receiver-NAME.head``):
someone who can write the store but not this directory cannot roll the chain back past it."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from edge.core.logs import get_logger
from edge.evidence.keys import NodeKey, SigningKeyError
from edge.receiver.ackaudit.records import SignedHead

log = get_logger(__name__)

_creating = threading.Lock()
"""One thread at a time makes a key (the acknowledgements and the incident workflow of one
receiver may both sign their first record at once)."""


def key_path(data_dir: Path, receiver: str) -> Path:
    """Where receiver *receiver* keeps its audit key."""
    return data_dir / "keys" / f"receiver-{receiver}.key"


def anchor_path(data_dir: Path, receiver: str) -> Path:
    """Where receiver *receiver* keeps the last head it signed."""
    return data_dir / "audit" / f"receiver-{receiver}.head"


def load_or_create_key(data_dir: Path, receiver: str) -> NodeKey:
    """The receiver's key, made (0600) if it has none yet. Raises ``SigningKeyError`` for a
    file that is there but unusable (readable by others, not an Ed25519 key)."""
    path = key_path(data_dir, receiver)
    with _creating:
        return _load_or_create(path)


def _load_or_create(path: Path) -> NodeKey:
    if not path.exists():
        try:
            key = NodeKey.create(path)
        except SigningKeyError:
            if not path.exists():
                raise
        else:
            log.info("audit.receiver_key_created", path=str(path), key_id=key.id)
            return key
    return NodeKey(path)


def write_anchor(data_dir: Path, receiver: str, head: SignedHead) -> None:
    """Keep *head* as this receiver's last signed head (atomic replace, fsync'd). A failure is
    logged, never raised: the acknowledgement is already committed."""
    path = anchor_path(data_dir, receiver)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as f:
            json.dump({"receiver": receiver, **head.as_dict()}, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        log.error("audit.anchor_failed", path=str(path), seq=head.seq, error=str(e))


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head a receiver signed and kept (or why its file cannot be read)."""

    path: Path
    seq: int = 0
    hash: str = ""
    problem: str | None = None


def read_anchors(data_dir: Path) -> list[Anchor]:
    """Every ``receiver-*.head`` in *data_dir*/audit."""
    anchors = []
    for path in sorted((data_dir / "audit").glob("receiver-*.head")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            anchors.append(Anchor(path, int(data["seq"]), str(data["hash"])))
        except (OSError, ValueError, KeyError, TypeError) as e:
            anchors.append(Anchor(path, problem=f"unreadable ({type(e).__name__}: {e})"))
    return anchors
