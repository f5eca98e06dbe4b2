"""An append-only, hash-chained log of everything shared: what, to which destination, when,
and its hash. Each record carries the hash of the one before it, so any edit, deletion,
insertion or reordering breaks the chain at the first record concerned.

One JSON object per line: ``{"seq", "time", "action", "kind", "id", "destination",
"sha256", "prev", "hash"}`` where ``hash`` is sha256 over the canonical record without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.evidence.canonical import canonical

GENESIS = "0" * 64


def record_hash(record: dict[str, Any]) -> str:
    """The hash of a record (over every field but ``hash``)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


class AuditLog:
    """Appends records durably (fsync) and keeps the chain head in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._seq, self._head = self._tail()

    def _tail(self) -> tuple[int, str]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0, GENESIS
        last = b""
        with self.path.open("rb") as f:
            f.seek(max(0, self.path.stat().st_size - 65536))
            lines = [x for x in f.read().splitlines() if x.strip()]
            last = lines[-1] if lines else b""
        try:
            rec = json.loads(last)
            return int(rec["seq"]), str(rec["hash"])
        except (ValueError, KeyError) as e:
            raise ValueError(f"{self.path}: last audit record unreadable: {e}") from e

    @property
    def head(self) -> str:
        """Hash of the newest record (published with health so truncation shows too)."""
        return self._head

    def append(
        self,
        action: str,
        kind: str,
        item_id: str,
        destination: str | None,
        sha256: str,
        **extra: Any,
    ) -> dict[str, Any]:
        """Append one record; returns it."""
        with self._lock:
            record: dict[str, Any] = {
                "seq": self._seq + 1,
                "time": round(time.time(), 3),
                "action": action,
                "kind": kind,
                "id": item_id,
                "destination": destination,
                "sha256": sha256,
                **extra,
                "prev": self._head,
            }
            record["hash"] = record_hash(record)
            line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            self._seq, self._head = record["seq"], record["hash"]
            return record


@dataclass(frozen=True)
class AuditCheck:
    """Result of :func:`verify_log`."""

    ok: bool
    records: int
    head: str
    bad_line: int | None = None
    reason: str | None = None


def verify_log(path: Path) -> AuditCheck:  # noqa: PLR0911 - one return per kind of fault
    """Walk the chain; the first record that does not follow names the fault."""
    prev, seq, count = GENESIS, 0, 0
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                return AuditCheck(False, count, prev, n, "empty line inside the log")
            try:
                rec = json.loads(raw)
            except ValueError:
                return AuditCheck(False, count, prev, n, "not a JSON record (edited?)")
            if not isinstance(rec, dict) or "hash" not in rec:
                return AuditCheck(False, count, prev, n, "not an audit record")
            if record_hash(rec) != rec["hash"]:
                return AuditCheck(
                    False,
                    count,
                    prev,
                    n,
                    f"record seq {rec.get('seq')} was altered (hash mismatch)",
                )
            if rec.get("prev") != prev:
                return AuditCheck(
                    False,
                    count,
                    prev,
                    n,
                    f"record seq {rec.get('seq')} does not follow the one before "
                    "(a record was deleted, inserted or moved)",
                )
            if rec.get("seq") != seq + 1:
                return AuditCheck(
                    False, count, prev, n, f"sequence jumps from {seq} to {rec.get('seq')}"
                )
            prev, seq, count = rec["hash"], rec["seq"], count + 1
    return AuditCheck(True, count, prev)
