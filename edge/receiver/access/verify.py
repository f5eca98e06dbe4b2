"""Checking a receiver's access export offline, with only the receiver's public key: the
bundle's signature and every file (:mod:`edge.evidence.bundle`); ``chain.jsonl``: every
record hashes right and follows the one before, its first and last are the ones
``export.json`` names, every checkpoint is signed by the key and the last record is a
signed checkpoint (so no record before it can be removed, edited or inserted, even by one
who recomputes the hashes); ``export.json`` against the chain: every access, deletion and
hold listed is its record, and every access or deletion record of the period (within the
filters) is listed.

Each problem is one line naming the file, record or entry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.evidence.bundle import verify_bundle
from edge.evidence.chain import CHECKPOINT, parse_line
from edge.evidence.keys import key_id, load_public
from edge.receiver.access.export import DELETE_ACTION, HOLD_ACTIONS, SCHEMA
from edge.receiver.access.log import entry
from edge.receiver.access.record import ACCESS, ACTIONS
from edge.receiver.ackaudit.records import checkpoint_holds

CHAIN = "chain.jsonl"
COMPARED = ("audit_seq", "time", "user", "role", "action", "type", "id", "site", "node",
            "sha256", "ranges", "hash")  # fmt: skip


@dataclass
class ExportCheck:
    """What :func:`verify_export` found."""

    directory: Path
    records: int = 0
    accesses: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing wrong found."""
        return not self.problems


def _walk(lines: list[bytes], keys: dict[str, Ed25519PublicKey], check: ExportCheck
          ) -> dict[int, dict[str, object]]:  # fmt: skip
    by_seq: dict[int, dict[str, object]] = {}
    prev: dict[str, Any] | None = None
    for n, raw in enumerate(lines, 1):
        rec, why = parse_line(raw)
        if rec is None or why is not None:
            what = f"record seq {rec.get('seq')}" if rec else f"line {n}"
            check.problems.append(f"{CHAIN} {what}: {why} (edited)")
            prev = None
            continue
        seq = rec.get("seq")
        if not isinstance(seq, int):
            check.problems.append(f"{CHAIN} line {n}: no seq")
            continue
        if prev is not None and seq != prev["seq"] + 1:
            check.problems.append(f"{CHAIN}: the sequence jumps from seq {prev['seq']} to {seq} "
                                  "(records removed or inserted)")  # fmt: skip
        elif prev is not None and rec.get("prev") != prev["hash"]:
            check.problems.append(
                f"{CHAIN} record seq {seq}: does not follow seq {prev['seq']} "
                "(a record before it was changed, inserted or removed)"
            )
        if rec.get("action") == CHECKPOINT:
            public = keys.get(str(rec.get("key_id")))
            if public is None:
                check.problems.append(f"{CHAIN} checkpoint seq {seq}: signed by key "
                                      f"{rec.get('key_id')}, not the receiver's")  # fmt: skip
            elif not checkpoint_holds(rec, public):
                check.problems.append(f"{CHAIN} checkpoint seq {seq}: the signature does not "
                                      "verify (records before it rewritten)")  # fmt: skip
            elif prev is not None and (rec.get("head") != prev["hash"]
                                       or rec.get("head_seq") != prev["seq"]):  # fmt: skip
                check.problems.append(f"{CHAIN} checkpoint seq {seq}: does not sign the record "
                                      "before it")  # fmt: skip
        by_seq[seq] = rec
        prev = rec
    return by_seq


def _ends(doc: dict[str, object], by_seq: dict[int, dict[str, object]], check: ExportCheck) -> None:
    c = doc.get("chain") if isinstance(doc.get("chain"), dict) else {}
    assert isinstance(c, dict)
    first, last = (min(by_seq), max(by_seq)) if by_seq else (None, None)
    if (c.get("first_seq"), c.get("last_seq")) != (first, last):
        check.problems.append(
            f"{CHAIN}: holds seq {first}..{last}, export.json says "
            f"{c.get('first_seq')}..{c.get('last_seq')} (records cut)"
        )
    if last is not None and by_seq[last].get("action") != CHECKPOINT:
        check.problems.append(
            f"{CHAIN}: its last record (seq {last}) is not a signed "
            "checkpoint (records after it unsigned, or the checkpoint cut)"
        )


def _in(rec: dict[str, object], doc: dict[str, Any]) -> bool:
    p = doc.get("period") or {}
    t = rec.get("time")
    return isinstance(t, int | float) and float(p.get("since", 0)) <= t <= float(
        p.get("until", 0))  # fmt: skip


def _lists(doc: dict[str, Any], by_seq: dict[int, dict[str, object]], check: ExportCheck) -> None:
    f = doc.get("filters") or {}
    listed: set[int] = set()
    for a in doc.get("accesses") or []:
        seq = a.get("audit_seq")
        rec = by_seq.get(seq) if isinstance(seq, int) else None
        listed.add(seq if isinstance(seq, int) else -1)
        name = f"export.json access seq {seq} ({a.get('action')} by {a.get('user')})"
        if rec is None or rec.get("kind") != ACCESS:
            check.problems.append(f"{name}: no such access record in {CHAIN}")
            continue
        want = entry(rec)
        differ = [k for k in COMPARED if a.get(k) != want.get(k)]
        if differ:
            check.problems.append(f"{name}: {', '.join(differ)} differ from its record")
    for d in doc.get("deletions") or []:
        seq = d.get("audit_seq")
        rec = by_seq.get(seq) if isinstance(seq, int) else None
        listed.add(seq if isinstance(seq, int) else -1)
        if rec is None or rec.get("action") != DELETE_ACTION or rec.get("id") != d.get("id"):
            check.problems.append(f"export.json deletion seq {seq}: not a retention_delete "
                                  f"record of {d.get('id')} in {CHAIN}")  # fmt: skip
    for h in doc.get("holds") or []:
        seq = h.get("audit_seq")
        rec = by_seq.get(seq) if isinstance(seq, int) else None
        listed.add(seq if isinstance(seq, int) else -1)
        if rec is None or rec.get("action") not in HOLD_ACTIONS or rec.get("id") != h.get(
                "incident"):  # fmt: skip
            check.problems.append(f"export.json hold seq {seq}: not a hold or release record "
                                  f"of {h.get('incident')} in {CHAIN}")  # fmt: skip
    for seq, rec in sorted(by_seq.items()):
        if seq in listed or not _in(rec, doc):
            continue
        where = all(f.get(k) in (None, rec.get(k)) for k in ("site", "node"))
        if rec.get("kind") == ACCESS and rec.get("action") in ACTIONS and where and \
                f.get("user") in (None, rec.get("user")):  # fmt: skip
            check.problems.append(f"{CHAIN} record seq {seq} ({rec.get('action')} of "
                                  f"{rec.get('type')} {rec.get('id')} by {rec.get('user')}): "
                                  "not in export.json's accesses (left out)")  # fmt: skip
        elif rec.get("action") == DELETE_ACTION and where:
            check.problems.append(f"{CHAIN} record seq {seq} (retention delete of "
                                  f"{rec.get('id')}): not in export.json's deletions")  # fmt: skip


def verify_export(directory: Path, public_keys: Sequence[Ed25519PublicKey | str]) -> ExportCheck:
    """Check the export *directory* with the receiver's public key(s) (objects or PEM)."""
    keys = [k if isinstance(k, Ed25519PublicKey) else load_public(k) for k in public_keys]
    by_id = {key_id(k): k for k in keys}
    check = ExportCheck(Path(directory))
    bundles = [verify_bundle(check.directory, k) for k in keys]
    best = min(bundles, key=lambda b: len(b.problems)) if bundles else None
    if best is None:
        check.problems.append("no receiver public key given")
        return check
    check.problems += best.problems
    try:
        doc = json.loads((check.directory / "export.json").read_text(encoding="utf-8"))
        lines = (check.directory / CHAIN).read_bytes().splitlines(keepends=True)
    except (OSError, ValueError) as e:
        check.problems.append(f"{check.directory}: unreadable ({type(e).__name__}: {e})")
        return check
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        check.problems.append(f"export.json: not a {SCHEMA} document")
        return check
    if doc.get("key_id") not in by_id:
        check.problems.append(f"export.json: names key {doc.get('key_id')}, not the one given")
    by_seq = _walk(lines, by_id, check)
    _ends(doc, by_seq, check)
    _lists(doc, by_seq, check)
    check.records, check.accesses = len(by_seq), len(doc.get("accesses") or [])
    return check
