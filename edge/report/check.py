"""Checking a node's sharing report offline (``edge report verify``): the bundle's signature
and files (:mod:`edge.evidence.bundle`); ``chain.jsonl``: every record's hash, the links
between them and each signed checkpoint against the node's public key; that ``report.json``
says what those records say (its delivered items and counts are made again from them); and,
given the node's audit log, that every record of ``chain.jsonl`` is the log's own line and
the log delivered nothing else in the period.

Without a public key the bundle is checked with the key it carries: that proves it was not
changed since it was signed, not who signed it (the key id must then be compared with the
node's enrolled key): said in :attr:`ReportCheck.notes`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.core.errors import EvidenceError
from edge.core.jsonshape import JsonObject, as_float, as_object, as_str_or_none
from edge.evidence.bundle import BundleError, read_signature, verify_bundle
from edge.evidence.chain import GENESIS
from edge.evidence.keys import key_id, load_public
from edge.node.sharing_audit import ACTION
from edge.report import items as item_list
from edge.report import scope
from edge.report.chainfile import (
    NOTICES,
    ChainFileError,
    Line,
    checkpoint_problem,
    is_checkpoint,
    notices,
    read_chain,
)
from edge.report.claims import disagreements
from edge.report.write import CHAIN, REPORT, SCHEMA


@dataclass
class ReportCheck:
    """What :func:`verify_report` found; ``problems`` empty means the report holds."""

    directory: Path
    key_id: str | None = None
    records: int = 0
    checkpoints: int = 0
    delivered: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing wrong found."""
        return not self.problems


def _load_report(directory: Path, check: ReportCheck) -> JsonObject | None:
    path = directory / REPORT
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        check.problems.append(f"{path}: unreadable: {e}")
        return None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        check.problems.append(f"{path}: not a {SCHEMA} report")
        return None
    return report


def _period(report: JsonObject) -> tuple[float, float]:
    period = as_object(report.get("period"), "period")
    return as_float(period.get("since", 0), "period since"), as_float(
        period.get("until", 0), "period until"
    )


def _check_chain(
    lines: Sequence[Line], keys: dict[str, Ed25519PublicKey], check: ReportCheck, path: Path
) -> None:
    if lines and lines[0].seq == 1 and lines[0].record.get("prev") != GENESIS:
        check.problems.append(f"{path}:1: record seq 1 does not follow genesis")
    before: Line | None = None
    for line in lines:
        if is_checkpoint(line):
            check.checkpoints += 1
            problem = checkpoint_problem(line, before, keys)
            if problem:
                check.problems.append(f"{path}:{line.number}: {problem}")
        before = line
    signed = next((ln.seq for ln in reversed(lines) if is_checkpoint(ln)), None)
    if lines and signed != lines[-1].seq:
        after = lines[-1].seq - (signed or lines[0].seq - 1)
        check.notes.append(
            f"{after} records after the last checkpoint in {CHAIN} are signed by the report's "
            "signature only (the node had not signed a checkpoint after them yet)"
        )


def _same_items(report: JsonObject, lines: Sequence[Line], where: str, check: ReportCheck) -> None:
    """The report's delivered items and counts are those *lines* give for its period."""
    since, until = _period(report)
    found = item_list.delivered(
        lines, since, until, as_str_or_none(report.get("destination"), "destination"),
        site=as_str_or_none(report.get("site"), "site"),
        node=as_str_or_none(report.get("node"), "node"),
    )  # fmt: skip
    claimed = report.get("delivered")

    def key(i: Mapping[str, object]) -> tuple[str, str, str]:
        return (str(i.get("type")), str(i.get("id")), str(i.get("destination")))

    made: dict[tuple[str, str, str], Mapping[str, object]] = {key(i): i for i in found.items}
    listed = claimed if isinstance(claimed, list) else []  # anything else lists nothing
    said = {key(i): i for i in listed if isinstance(i, dict)}
    for k in sorted(set(said) - set(made)):
        check.problems.append(f"{REPORT}: {k[0]} {k[1]} to {k[2]} is not delivered in {where}")
    for k in sorted(set(made) - set(said)):
        check.problems.append(f"{REPORT}: leaves out {k[0]} {k[1]} to {k[2]}, delivered in {where}")
    for k in sorted(set(made) & set(said)):
        if made[k] != said[k]:
            fields = sorted(f for f in made[k] if made[k][f] != said[k].get(f))
            check.problems.append(
                f"{REPORT}: {k[0]} {k[1]} to {k[2]}: {', '.join(fields)} differ from {where}"
            )
    if report.get("counts") != item_list.counts(found.items):
        check.problems.append(f"{REPORT}: counts differ from the items delivered in {where}")
    changes = scope.history(lines, since, until)
    if report.get("scope_history") != changes:
        check.problems.append(f"{REPORT}: scope_history differs from the changes in {where}")
    check.problems += disagreements(report, lines, where)
    told = as_object(report.get("chain"), "chain").get("notices")
    if told != notices(lines, since, until):
        check.problems.append(f"{REPORT}: chain notices differ from the records in {where}")


def _tells(line: Line) -> bool:
    """The record changes what a report says (not a heartbeat's delivery, not a checkpoint)."""
    action, rec_id = line.record.get("action"), str(line.record.get("id"))
    if action == "shared":
        return not rec_id.startswith("health/")
    return action in (ACTION, *NOTICES)


def _against_log(
    report: JsonObject, lines: Sequence[Line], audit_log: Path, check: ReportCheck
) -> None:
    try:
        log_lines = read_chain(audit_log)
    except ChainFileError as e:
        check.problems.append(str(e))
        return
    by_seq = {ln.seq: ln for ln in log_lines}
    for line in lines:
        own = by_seq.get(line.seq)
        if own is None:
            check.problems.append(f"{CHAIN}:{line.number}: record seq {line.seq} is not in "
                                  f"{audit_log}")  # fmt: skip
        elif own.raw != line.raw:
            check.problems.append(f"{CHAIN}:{line.number}: record seq {line.seq} differs from "
                                  f"{audit_log}:{own.number}")  # fmt: skip
    last = as_object(report.get("chain"), "chain").get("log_last_seq")
    if isinstance(last, int):  # what the log held when the report was made
        since, until = _period(report)
        made = as_float(report.get("generated") or 0, "generated")
        before = [ln.seq for ln in log_lines if ln.seq > last and ln.time <= made
                  and since <= ln.time < until and _tells(ln)]  # fmt: skip
        if before:
            check.problems.append(
                f"{audit_log}: records seq {before[0]}-{before[-1]} of the period were written "
                f"before the report was made, after the last it read (seq {last})"
            )
        log_lines = [ln for ln in log_lines if ln.seq <= last]
        if last and (not log_lines or log_lines[-1].seq != last):
            check.problems.append(f"{audit_log}: holds no record seq {last}, the log's last "
                                  "when the report was made (cut or replaced since)")  # fmt: skip
    _same_items(report, log_lines, str(audit_log), check)


def _keys(
    directory: Path, public: Sequence[Ed25519PublicKey], check: ReportCheck
) -> list[Ed25519PublicKey]:
    if public:
        return list(public)
    try:
        pem = str(read_signature(directory).get("public_key"))
        key = load_public(pem)
    except (BundleError, EvidenceError, ValueError) as e:
        check.problems.append(str(e))
        return []
    check.notes.append(
        f"checked with the key the report carries ({key_id(key)}): it shows the report is as "
        "signed, not by whom; give --public-key (the node's enrolled key) for that"
    )
    return [key]


def verify_report(
    directory: Path,
    public: Sequence[Ed25519PublicKey] = (),
    audit_log: Path | None = None,
) -> ReportCheck:
    """Check the report bundle *directory* (see the module's text)."""
    check = ReportCheck(directory)
    keys = _keys(directory, public, check)
    if not keys:
        return check
    by_id = {key_id(k): k for k in keys}
    checks = [verify_bundle(directory, k) for k in keys[:1]]
    if not checks[0].ok:  # another of the keys given may be the signer's
        checks += [verify_bundle(directory, k) for k in keys[1:]]
    bundle = next((c for c in checks if c.ok), checks[0])
    check.key_id = bundle.key_id
    check.problems += bundle.problems
    report = _load_report(directory, check)
    path = directory / CHAIN
    try:
        lines = read_chain(path, from_genesis=False)
    except ChainFileError as e:
        check.problems.append(str(e))
        return check
    check.records = len(lines)
    _check_chain(lines, by_id, check, Path(CHAIN))
    if report is None:
        return check
    delivered = report.get("delivered")
    check.delivered = len(delivered) if isinstance(delivered, list) else 0
    chain = report.get("chain")
    chain = chain if isinstance(chain, Mapping) else {}
    first, last = (lines[0].seq, lines[-1].seq) if lines else (None, None)
    if (chain.get("first_seq"), chain.get("last_seq")) != (first, last):
        check.problems.append(
            f"{REPORT}: chain says records {chain.get('first_seq')}-{chain.get('last_seq')}, "
            f"{CHAIN} holds {first}-{last}"
        )
    if report.get("key_id") != check.key_id:
        check.problems.append(f"{REPORT}: key_id {report.get('key_id')} is not the signer's")
    try:
        _same_items(report, lines, CHAIN, check)
        if audit_log is not None:
            _against_log(report, lines, audit_log, check)
    except (TypeError, AttributeError, ValueError, KeyError) as e:  # not the shape written
        check.problems.append(f"{REPORT}: not as a report is written ({type(e).__name__}: {e})")
    return check
