"""Hand-made node reports and receiver exports in the shape of issue 26's contracts: signed
bundles (edge.evidence.bundle) whose ``chain.jsonl`` is a real hash chain with signed
checkpoints, made by the node's audit log (node) and the receiver chain's record makers
(receiver), for the reconciliation tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.evidence.audit import AuditLog
from edge.evidence.bundle import sign_bundle
from edge.evidence.chain import GENESIS, record_line
from edge.evidence.keys import NodeKey, public_pem
from edge.receiver.ackaudit.records import make_checkpoint, make_record

SITE, NODE, DEST = "semarang", "gudang-01", "polda"
DAY = 1_796_000_000.0
"""The report's day starts here (UNIX s)."""
SINCE, UNTIL = DAY, DAY + 86400


def item(type_: str, item_id: str, t: float, camera: str | None = "pintu", kind: str = "person",
         **fields: Any) -> dict[str, Any]:  # fmt: skip
    """An item of the node as both sides list it."""
    sha = fields.pop("sha256", f"{item_id:0<64}"[:64])
    return {"type": type_, "id": item_id, "site": SITE, "node": NODE, "camera": camera,
            "kind": kind, "sha256": sha, "time": t, **fields}  # fmt: skip


@dataclass
class Keys:
    """The node's and the receiver's signing keys, in *where*."""

    where: Path
    node: NodeKey = field(init=False)
    receiver: NodeKey = field(init=False)

    def __post_init__(self) -> None:
        self.node = NodeKey.create(self.where / "node-key.pem")
        self.receiver = NodeKey.create(self.where / "rx-key.pem")
        (self.where / "node.pub").write_text(public_pem(self.node.public))
        (self.where / "receiver.pub").write_text(public_pem(self.receiver.public))


def node_report(out: Path, keys: Keys, delivered: list[dict[str, Any]], **doc: Any) -> Path:
    """A signed node report in *out* delivering *delivered* (each gets its ``shared``
    record in the chain and ``audit_seq``), to :data:`DEST`."""
    out.mkdir(parents=True)
    log = AuditLog(out.parent / f"{out.name}-audit.log", keys.node, checkpoint_every=5)
    items = []
    for d in delivered:
        rec = log.append("shared", d["type"], f"{d['type']}:{d['id']}", DEST, d["sha256"])
        items.append({"destination": DEST, "audit_seq": rec["seq"], **d})
    log.checkpoint()
    lines = log.path.read_bytes()
    (out / "chain.jsonl").write_bytes(lines)
    seqs = [json.loads(line)["seq"] for line in lines.splitlines()]
    report = {
        "schema": "warehouse-edge/sharing-report/1", "site": SITE, "node": NODE,
        "key_id": keys.node.id, "period": {"since": SINCE, "until": UNTIL},
        "generated": UNTIL + 60, "destination": None, "delivered": items, "counts": {},
        "cameras": {"pintu": {"private": False, "masks": [], "masks_sha256": "0" * 64,
                              "resolution": [640, 480], "overlay": None},
                    "kantor": {"private": True, "masks": [], "masks_sha256": "0" * 64,
                               "resolution": [640, 480], "overlay": None},
                    "gudang": {"private": False, "masks": [], "masks_sha256": "0" * 64,
                               "resolution": [640, 480], "overlay": None}},
        "scope": {DEST: {"cameras": ["pintu"], "kinds": ["person", "door_open", "clip",
                                                         "snapshot"]}},
        "scope_history": [], "retention": {"max_age_days": 30},
        "chain": {"first_seq": seqs[0], "last_seq": seqs[-1], "records": "chain.jsonl"},
        **doc,
    }  # fmt: skip
    (out / "report.json").write_text(json.dumps(report, indent=1))
    sign_bundle(out, keys.node, keys.node.public, report["schema"])
    return out


class ReceiverChain:
    """A receiver chain from seq 1, its records made as the receiver makes them."""

    def __init__(self, keys: Keys) -> None:
        self.key = keys.receiver
        self.records: list[dict[str, Any]] = []

    def add(self, action: str, kind: str, item_id: str, t: float, **fields: Any
            ) -> dict[str, Any]:  # fmt: skip
        """Append a record of *action* at time *t*."""
        prev = self.records[-1]["hash"] if self.records else GENESIS
        rec = make_record(len(self.records) + 1, prev, action, kind=kind, item_id=item_id,
                          sha256="0" * 64, when=t, **fields)  # fmt: skip
        self.records.append(rec)
        return rec

    def checkpoint(self) -> None:
        """Sign the head with a checkpoint record."""
        last = self.records[-1]
        self.records.append(make_checkpoint(last["seq"] + 1, last["hash"], last["seq"], self.key))

    def access(self, action: str, it: dict[str, Any], user: str, t: float) -> dict[str, Any]:
        """An access record of *user* to item *it*; its export entry."""
        rec = self.add(action, it["type"], it["id"], t, user=user, role="officer",
                       site=it["site"], node=it["node"], type=it["type"])  # fmt: skip
        return {
            "audit_seq": rec["seq"],
            "time": t,
            "user": user,
            "role": "officer",
            "action": action,
            "type": it["type"],
            "id": it["id"],
            "site": it["site"],
            "node": it["node"],
            "ranges": [[0, 10]] if it["type"] == "clip" else None,
        }

    def delete(self, it: dict[str, Any], t: float) -> dict[str, Any]:
        """A retention deletion of *it*; its export entry."""
        rec = self.add("retention_delete", it["type"], it["id"], t, site=it["site"],
                       node=it["node"], reason="retention", age_days=30)  # fmt: skip
        return {"audit_seq": rec["seq"], "time": t, "type": it["type"], "id": it["id"],
                "sha256": it["sha256"], "site": it["site"], "node": it["node"],
                "reason": "retention"}  # fmt: skip


def receiver_export(out: Path, keys: Keys, chain: ReceiverChain, held: list[dict[str, Any]],
                    accesses: list[dict[str, Any]], deletions: list[dict[str, Any]],
                    lines: list[bytes] | None = None) -> Path:  # fmt: skip
    """A signed receiver export in *out* (its chain: *chain*'s records, or *lines*)."""
    out.mkdir(parents=True)
    body = lines if lines is not None else [record_line(r) for r in chain.records]
    (out / "chain.jsonl").write_bytes(b"".join(body))
    export = {
        "schema": "warehouse-edge/access-export/1", "receiver": "polda-jateng",
        "key_id": keys.receiver.id, "period": {"since": SINCE, "until": UNTIL},
        "generated": UNTIL + 120, "filters": {"site": None, "node": None, "user": None},
        "held": [{"received": h["time"] + 1, "deleted": None, **h} for h in held],
        "accesses": accesses, "deletions": deletions, "holds": [],
        "chain": {"first_seq": 1, "last_seq": len(chain.records), "records": "chain.jsonl"},
    }  # fmt: skip
    (out / "export.json").write_text(json.dumps(export, indent=1))
    sign_bundle(out, keys.receiver, keys.receiver.public, str(export["schema"]))
    return out
