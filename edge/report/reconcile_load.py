"""Reading the two bundles that ``edge report reconcile`` compares, as a third party does:
with only the makers' public keys and the two directories. Each bundle's signature and files
(:mod:`edge.evidence.bundle`), its main JSON, and its ``chain.jsonl``: every record hashes
right and follows the one before (a record removed, inserted or edited shows), every
checkpoint in it is signed by a given key.

Without pinned keys the key a bundle names in its own ``SIGNATURE.json`` is used: that proves
only that the bundle was not changed after signing, not who signed it (said in a note).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.core.errors import EvidenceError
from edge.evidence.bundle import BundleError, read_signature, verify_bundle
from edge.evidence.chain import CHECKPOINT, GENESIS, parse_line
from edge.evidence.keys import SigningKeyError, key_id, load_public
from edge.report.chainfile import Line, checkpoint_problem

CHAIN_NAME = "chain.jsonl"


class UnreadableBundle(EvidenceError):
    """A bundle that cannot be read at all (no directory, no main file, not JSON)."""


@dataclass
class Loaded:
    """One bundle as read: its main document, its chain records, what is wrong with it."""

    directory: Path
    doc: dict[str, Any]
    """The main document as JSON gave it (a caller, a test, may edit it)."""
    records: list[dict[str, object]]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    key_id: str | None = None


def check_chain(lines: Sequence[bytes], keys: dict[str, Ed25519PublicKey], name: str = CHAIN_NAME
                ) -> tuple[list[dict[str, object]], list[str], int]:  # fmt: skip
    """Walk a run of chain records (a ``chain.jsonl``'s lines): the whole records, the
    problems (each naming the record), and the seq of the newest signed checkpoint (0:
    none). The run may start anywhere in the chain; its first record must be seq 1 with the
    genesis ``prev`` only when it says it is seq 1."""
    records: list[dict[str, object]] = []
    problems: list[str] = []
    prev: Line | None = None
    signed = 0
    for n, raw in enumerate(lines, 1):
        rec, why = parse_line(raw)
        if rec is None or why is not None:
            what = f"record seq {rec.get('seq')}" if rec else f"line {n}"
            problems.append(f"chain: {name} {what}: {why or 'unreadable'} (edited)")
            prev = None
            continue
        seq = rec.get("seq")
        if prev is not None:
            if seq != prev.seq + 1:
                problems.append(f"chain: {name}: the sequence jumps from seq {prev.seq} to "
                                f"{seq} (records removed)")  # fmt: skip
            elif rec.get("prev") != prev.record["hash"]:
                problems.append(
                    f"chain: {name} record seq {seq} does not follow seq "
                    f"{prev.seq} (a record was changed, inserted or removed)"
                )
        elif not records and seq == 1 and rec.get("prev") != GENESIS:
            problems.append(f"chain: {name} record seq 1 does not start the chain")
        if rec.get("action") == CHECKPOINT and isinstance(seq, int):
            before = Line(n - 1, b"", prev.record) if prev is not None else None
            problem = checkpoint_problem(Line(n, raw, rec), before, keys)
            if problem:
                problems.append(f"chain: {name}: {problem}")
            else:
                signed = seq
        records.append(rec)
        prev = Line(n, raw, rec)
    return records, problems, signed


def read_keys(pems: Sequence[str | bytes]) -> list[Ed25519PublicKey]:
    """Public keys from PEM texts; raises :class:`UnreadableBundle` naming the bad one."""
    out = []
    for i, pem in enumerate(pems, 1):
        try:
            out.append(load_public(pem))
        except (ValueError, SigningKeyError) as e:
            raise UnreadableBundle(f"public key {i}: not an Ed25519 public key PEM ({e})") from e
    return out


def load(directory: Path, main: str, keys: Sequence[Ed25519PublicKey] = ()) -> Loaded:
    """Read and check the bundle *directory* whose main document is *main* (``report.json``
    or ``export.json``) against *keys* (none: the key the bundle names, with a note).
    Raises :class:`UnreadableBundle` when there is nothing to compare."""
    if not directory.is_dir():
        raise UnreadableBundle(f"{directory}: not a directory")
    try:
        doc = json.loads((directory / main).read_text())
    except FileNotFoundError as e:
        raise UnreadableBundle(f"{directory / main}: missing (not a {main} bundle)") from e
    except (OSError, ValueError) as e:
        raise UnreadableBundle(f"{directory / main}: unreadable: {e}") from e
    if not isinstance(doc, dict):
        raise UnreadableBundle(f"{directory / main}: not a JSON object")
    loaded = Loaded(directory, doc, [])
    pinned = list(keys)
    if not pinned:
        try:
            pinned = [load_public(str(read_signature(directory).get("public_key")))]
            loaded.notes.append(
                f"{directory}: no public key given: checked with the key its "
                "SIGNATURE.json names (unchanged since signed; not who signed)"
            )
        except (BundleError, ValueError, SigningKeyError) as e:
            loaded.problems.append(str(e))
    by_id = {key_id(k): k for k in pinned}
    checks = [verify_bundle(directory, k) for k in pinned]
    best = min(checks, key=lambda c: len(c.problems)) if checks else None
    if best is not None:
        loaded.problems += [f"{directory.name}/{p}" for p in best.problems]
        loaded.key_id = best.key_id
    if doc.get("key_id") and best is not None and best.key_id and doc["key_id"] != best.key_id:
        loaded.problems.append(f"{main}: names key {doc['key_id']}, the bundle is signed by "
                               f"{best.key_id}")  # fmt: skip
    chain_path = directory / CHAIN_NAME
    try:
        lines = chain_path.read_bytes().splitlines(keepends=True)
    except FileNotFoundError:
        loaded.problems.append(f"chain: {chain_path}: missing")
        return loaded
    except OSError as e:
        loaded.problems.append(f"chain: {chain_path}: unreadable: {e}")
        return loaded
    records, problems, signed = check_chain(lines, by_id)
    loaded.records, loaded.problems = records, loaded.problems + problems
    last = records[-1].get("seq") if records else None
    if isinstance(last, int) and signed < last:
        loaded.notes.append(
            f"{chain_path}: records after seq {signed} are covered by the "
            "bundle's signature only (no checkpoint in the chain yet)"
        )
    return loaded
