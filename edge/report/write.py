"""Writing the node's sharing report: a signed bundle directory (``report.json`` for
programs, ``report.html`` for people, ``chain.jsonl`` with the audit records it rests on,
``overlays/CAM.png`` per camera, ``SIGNATURE.json``).

The bundle is built in a temporary directory beside *out* and renamed into place once it is
whole and signed, so a crash or a full disk never leaves a half report under *out*'s name.

``chain.jsonl`` holds the audit log's lines verbatim: from the first record of the period
(or the first record an item delivered in it rests on, if earlier) to the first signed
checkpoint at or after the period's last record (the log's end when none is written yet),
so a third party re-hashes them and checks the checkpoints with the public key alone."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.config.root import EdgeConfig
from edge.core.errors import EdgeError
from edge.core.logs import get_logger
from edge.evidence.bundle import sign_bundle
from edge.evidence.keys import NodeKey
from edge.report import items as item_list
from edge.report import overlay, scope
from edge.report.chainfile import Line, is_checkpoint, notices, read_chain
from edge.report.page import render_page
from edge.report.shapes import SharingReport

log = get_logger(__name__)

SCHEMA = "warehouse-edge/sharing-report/1"
REPORT = "report.json"
CHAIN = "chain.jsonl"
PAGE = "report.html"
OVERLAYS = "overlays"


class ReportError(EdgeError):
    """The report cannot be made: a bad period, or an output directory already there."""


@dataclass(frozen=True)
class Period:
    """From *since* (inclusive) to *until* (exclusive), UNIX seconds."""

    since: float
    until: float

    def __post_init__(self) -> None:
        if self.since >= self.until:
            raise ReportError(
                f"--since {self.since:g} is not before --until {self.until:g}: the period is empty"
            )


def chain_stretch(lines: Sequence[Line], period: Period, used: set[int]) -> list[Line]:
    """The records a report copies: the period's and those its items rest on, through the
    next signed checkpoint."""
    inside = [ln.seq for ln in lines if period.since <= ln.time < period.until]
    seqs = inside + sorted(used)
    if not seqs:
        return []
    first, last = min(seqs), max(seqs)
    by_seq = {ln.seq: i for i, ln in enumerate(lines)}
    start, end = by_seq[first], by_seq[last]
    while end < len(lines) - 1 and not is_checkpoint(lines[end]):
        end += 1
    return list(lines[start : end + 1])


def build(
    cfg: EdgeConfig,
    lines: Sequence[Line],
    period: Period,
    destination: str | None,
    key_id: str,
    *,
    now: float | None = None,
) -> tuple[SharingReport, list[Line]]:
    """``report.json``'s content (overlays not yet drawn) and the chain stretch it copies."""
    site, node = cfg.node.site, cfg.node.id
    found = item_list.delivered(lines, period.since, period.until, destination,
                                site=site, node=node)  # fmt: skip
    stretch = chain_stretch(lines, period, found.seqs)
    state = scope.state_at(cfg, lines, period.until)
    changes = scope.history(lines, period.since, period.until)
    cameras = scope.cameras(cfg, lines, state, period.until)
    start = scope.state_at(cfg, lines, period.since)
    for name, cam in cameras.items():
        cam["masks_in_period"] = scope.masks_in_period(start, changes, name)
    policy = scope.scope(state)
    if destination is not None:
        policy = {k: v for k, v in policy.items() if k == destination}
    report: SharingReport = {
        "schema": SCHEMA,
        "site": site,
        "node": node,
        "key_id": key_id,
        "period": {"since": period.since, "until": period.until},
        "generated": round(time.time() if now is None else now, 3),
        "destination": destination,
        "delivered": found.items,
        "counts": item_list.counts(found.items),
        "cameras": cameras,
        "scope": policy,
        "scope_history": changes,
        "retention": scope.retention(cfg),
        "chain": {
            "first_seq": stretch[0].seq if stretch else None,
            "last_seq": stretch[-1].seq if stretch else None,
            "signed_to_seq": next((ln.seq for ln in reversed(stretch) if is_checkpoint(ln)), None),
            "records": CHAIN,
            "notices": notices(lines, period.since, period.until),
            "log_last_seq": lines[-1].seq if lines else 0,
        },
    }
    return report, stretch


def _draw(cfg: EdgeConfig, report: SharingReport, into: Path, *, pictures: bool) -> None:
    """Each camera's overlay PNG under *into*/overlays (over its latest snapshot when
    *pictures*, else a grey canvas); its path in the report."""
    (into / OVERLAYS).mkdir()
    for name, cam in report["cameras"].items():
        shot = None
        if pictures and not cam["private"]:
            shot = overlay.latest_snapshot(cfg.clips_dir, name)
        png, base = overlay.render(cam, shot, private=cam["private"])
        rel = f"{OVERLAYS}/{name}.png"
        (into / rel).write_bytes(png)
        cam["overlay"], cam["overlay_base"] = rel, base


def _fsync_tree(directory: Path) -> None:
    for path in [*directory.rglob("*"), directory]:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_report(
    cfg: EdgeConfig,
    key: NodeKey,
    period: Period,
    out: Path,
    *,
    destination: str | None = None,
    audit_log: Path | None = None,
    now: float | None = None,
    pictures: bool = True,
) -> SharingReport:
    """Write the signed report for *period* to the new directory *out*; returns report.json's
    content. Without *pictures* no snapshot is shown (the masks on grey canvases: for a report
    published where the people a snapshot shows must not be). Raises :class:`ReportError`
    (``out`` exists), ``ChainFileError`` (a damaged
    audit log, naming its line) or ``OSError`` (nothing is left under *out* then)."""
    if out.exists():
        raise ReportError(f"{out}: already exists; give a new directory for the report")
    lines = read_chain(audit_log or cfg.audit_path)
    report, stretch = build(cfg, lines, period, destination, key.id, now=now)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _draw(cfg, report, tmp, pictures=pictures)
        (tmp / CHAIN).write_bytes(b"".join(ln.raw for ln in stretch))
        text = json.dumps(report, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        (tmp / REPORT).write_text(text, encoding="utf-8")
        (tmp / PAGE).write_text(render_page(report), encoding="utf-8")
        sign_bundle(tmp, key, key.public, SCHEMA)
        _fsync_tree(tmp)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("report.written", out=str(out), since=period.since, until=period.until,
             destination=destination, delivered=len(report["delivered"]),
             records=len(stretch), cameras=len(report["cameras"]))  # fmt: skip
    return report
