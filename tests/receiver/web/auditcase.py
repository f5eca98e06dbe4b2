"""Helpers of the auditor's tests (issue 26): the incident of :mod:`casefile` received two
hours ago (a made past, so that the periods compared cover it with margin), and the sharing
report its node would sign for a period: a signed bundle in the contract's shape whose
``delivered`` are the items given, each with its ``shared`` record in a real node audit
chain (edge.evidence.audit) signed by the node's enrolled key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from casefile import Case, make_case

from edge.bench.fleet import SimNode
from edge.evidence.audit import AuditLog
from edge.evidence.bundle import sign_bundle
from edge.receiver.store.store import ReceiverStore

AGO_S = 7200
"""How long ago the case was received."""
DEST = "polda"
REPORT_SCHEMA = "warehouse-edge/sharing-report/1"


def past_case(store: ReceiverStore, tmp: Path) -> Case:
    """:func:`casefile.make_case`, received :data:`AGO_S` ago."""
    case = make_case(store, tmp)
    with store.db.transaction() as cur:
        cur.execute("UPDATE events SET received = received - ?", (AGO_S,))
        cur.execute("UPDATE clips SET updated = updated - ?", (AGO_S,))
        cur.execute("UPDATE snapshots SET received = received - ?", (AGO_S,))
    return case


def node_report(out: Path, sim: SimNode, items: list[dict[str, Any]], since: float,
                until: float) -> Path:  # fmt: skip
    """The node's signed sharing report in *out* for [*since*, *until*], delivering *items*
    (contract item fields) to :data:`DEST`, every camera shared."""
    out.mkdir(parents=True)
    log = AuditLog(out.parent / f"{out.name}-audit.log", sim.key, checkpoint_every=5)
    delivered = []
    for it in items:
        rec = log.append("shared", it["type"], f"{it['type']}:{it['id']}", DEST, it["sha256"])
        delivered.append({k: it.get(k) for k in ("type", "id", "site", "node", "camera",
                                                  "kind", "sha256", "time")}
                         | {"destination": DEST, "audit_seq": rec["seq"]})  # fmt: skip
    log.checkpoint()
    lines = log.path.read_bytes()
    (out / "chain.jsonl").write_bytes(lines)
    seqs = [json.loads(line)["seq"] for line in lines.splitlines()]
    cameras = sorted({str(i["camera"]) for i in items if i.get("camera")})
    report = {
        "schema": REPORT_SCHEMA, "site": sim.site, "node": sim.node, "key_id": sim.key.id,
        "period": {"since": since, "until": until}, "generated": until + 1,
        "destination": DEST, "delivered": delivered, "counts": {},
        "cameras": {c: {"private": False, "masks": [], "masks_sha256": "0" * 64,
                        "resolution": [640, 480], "overlay": None} for c in cameras},
        "scope": {DEST: {"cameras": ["*"], "kinds": ["*"]}}, "scope_history": [],
        "retention": {"max_age_days": 30},
        "chain": {"first_seq": seqs[0], "last_seq": seqs[-1], "records": "chain.jsonl"},
    }  # fmt: skip
    (out / "report.json").write_text(json.dumps(report, indent=1))
    sign_bundle(out, sim.key, sim.key.public, REPORT_SCHEMA)
    return out
