"""A torn audit log: a last line cut short (a crash, a really full disk) is recognised at start,
moved to a side file and recorded in the chain, and the node starts; `edge audit verify` tells
such a torn tail (exit 4) from an edit in the middle (exit 1)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import structlog
from faults import fill, small_disk
from nodecfg import node_config

from edge.cli.main import main
from edge.config.loader import loads
from edge.evidence.audit import GENESIS, AuditLog, AuditLogError, verify_log
from edge.evidence.chain import record_line
from edge.evidence.keys import NodeKey
from edge.node.node import Node

pytestmark = pytest.mark.faults


def _records(path: Path, n: int, log: AuditLog | None = None) -> AuditLog:
    log = log or AuditLog(path)
    for i in range(n):
        log.append("shared", "person", f"event-{i}", "police", f"{i:064x}", topic="events")
    return log


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_bytes().splitlines()]


def _tear(path: Path) -> bytes:
    """Cut the log in the middle of its last line (as a write cut short); the torn bytes."""
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    cut = start + (len(data) - start) // 2
    os.truncate(path, cut)
    return data[start:cut]


def _side_file(path: Path) -> Path:
    sides = sorted(path.parent.glob(f"{path.name}.torn-*"))
    assert len(sides) == 1, sides
    return sides[0]


def test_log_cut_mid_line_is_a_torn_tail_moved_aside_and_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log truncated in the middle of its last record: verify exits 4 naming a torn tail;
    opening it moves the torn bytes to audit.log.torn-<UTC stamp>, logs audit.torn_tail and
    chains a torn_tail record (the side file's sha256, its line count, the lines kept) onto
    the last whole record; the log then verifies."""
    path = tmp_path / "audit.log"
    log = _records(path, 6)
    good = _lines(path)[-2]["hash"]  # the record before the one to be torn
    del log
    torn = _tear(path)
    assert main(["audit", "verify", str(path)]) == 4
    assert "audit.log:6: torn tail: the last line is incomplete" in capsys.readouterr().err

    with structlog.testing.capture_logs() as logs:
        reopened = AuditLog(path)
    side = _side_file(path)
    assert side.name.startswith("audit.log.torn-") and side.name.endswith("Z")
    assert side.read_bytes() == torn
    record = _lines(path)[-1]
    assert record["action"] == "torn_tail" and record["seq"] == 6 and record["prev"] == good
    assert record["sha256"] == hashlib.sha256(side.read_bytes()).hexdigest()
    assert record["kept_as"] == side.name and record["reason"] == "incomplete"
    assert (record["lines"], record["kept_lines"], record["bytes"]) == (1, 5, len(torn))
    assert reopened.head == record["hash"]
    event = next(e for e in logs if e["event"] == "audit.torn_tail")
    assert event["log_level"] == "error" and event["kept_as"] == str(side)

    reopened.append("shared", "clip", "c1", "police", "f" * 64)
    assert main(["audit", "verify", str(path)]) == 0
    assert verify_log(path).records == 7


@pytest.mark.parametrize(
    "how", ["half a record", "a record without its newline", "zeros after a crash", "only line"]
)
def test_every_kind_of_torn_tail_is_recovered(tmp_path: Path, how: str) -> None:
    """Half a record, a whole record whose newline never made it, a block of zeros (a file
    extended by a crash), a log whose only line is torn: each is a torn tail for verify
    (exit 4) and is moved aside at start, after which the chain verifies."""
    path = tmp_path / "audit.log"
    _records(path, 1 if how == "only line" else 4)
    data = path.read_bytes()
    if how in ("half a record", "only line"):
        torn = _tear(path)
    elif how == "a record without its newline":
        path.write_bytes(data[:-1])
        torn = data[data.rstrip(b"\n").rfind(b"\n") + 1 : -1]
    else:
        torn = b"\0" * 4096
        path.write_bytes(data + torn)
    assert verify_log(path).verdict == "torn"
    assert main(["audit", "verify", str(path)]) == 4
    log = AuditLog(path)
    record = _lines(path)[-1]
    assert record["action"] == "torn_tail" and log.head == record["hash"]
    if how == "only line":
        assert record["seq"] == 1 and record["prev"] == GENESIS and record["kept_lines"] == 0
    assert verify_log(path).ok
    assert _side_file(path).read_bytes() == torn


def test_an_edit_in_the_middle_is_not_a_torn_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record cut short in the middle (good records after it), or a whole last record
    altered, is an edit: exit 1 with its own message, never the torn-tail one. And a torn
    last line after a damaged one is not repaired at start: a clear AuditLogError."""
    path = tmp_path / "audit.log"
    _records(path, 6)
    lines = path.read_bytes().splitlines(keepends=True)

    path.write_bytes(b"".join([*lines[:2], lines[2][:40] + b"\n", *lines[3:]]))
    assert main(["audit", "verify", str(path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "edited" and out["bad_line"] == 3
    assert out["reason"] == "not a JSON record (edited?)"

    last = lines[5].replace(b'"event-5"', b'"event-9"')
    path.write_bytes(b"".join([*lines[:5], last]))
    assert main(["audit", "verify", str(path)]) == 1
    err = capsys.readouterr().err
    assert "audit.log:6: record seq 6 was altered" in err and "torn" not in err

    path.write_bytes(b"".join([*lines[:4], lines[4][:40] + b"\n", lines[5][:30]]))
    with pytest.raises(AuditLogError, match=r"damaged before its last line.*restore it"):
        AuditLog(path)
    assert not list(tmp_path.glob("audit.log.torn-*"))


def test_node_starts_on_a_torn_audit_log(tmp_path: Path) -> None:
    """The crash loop: a node whose audit log ends in a torn line used to fail at every
    start. Now it builds, starts and stops; the torn_tail record is signed at start by a
    checkpoint, its audit head."""
    cfg = loads(node_config(tmp_path / "data", "torn1", mock_gpio=True))
    _records(cfg.audit_path, 3)
    _tear(cfg.audit_path)
    node = Node(cfg)
    node.start()
    node.stop()
    records = _lines(cfg.audit_path)
    assert records[-2]["action"] == "torn_tail" and records[-1]["action"] == "checkpoint"
    assert records[-1]["head"] == records[-2]["hash"] and records[-1]["hash"] == node.audit.head
    assert verify_log(cfg.audit_path).ok


def test_a_full_disk_never_leaves_half_a_record(tmp_path: Path) -> None:
    """A real 64 KiB tmpfs filled to the last byte: the append that no longer fits raises
    ENOSPC and leaves the log ending in a whole record (its head unchanged); a checkpoint
    then is logged, not raised (the heartbeat must still go out); once space is freed the
    chain goes on and verifies."""
    key = NodeKey.create(tmp_path / "k.pem")
    with small_disk(tmp_path / "disk", "64k") as disk:
        path = disk / "audit.log"
        log = _records(path, 3, AuditLog(path, signer=key))
        filler = fill(disk)
        for _ in range(1000):  # the last page's slack takes a few records, then no more
            head = log.head
            try:
                _records(path, 1, log)
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
        else:
            pytest.fail("the disk never filled up")
        assert path.read_bytes().endswith(b"\n")
        check = verify_log(path)
        assert check.ok and check.head == head == log.head
        with structlog.testing.capture_logs() as logs:
            assert log.checkpoint(key) is None
        assert any(e["event"] == "audit.checkpoint_failed" for e in logs)
        filler.unlink()
        _records(path, 1, log)
        assert log.checkpoint(key) is not None
        assert verify_log(path, [key.public]).records == check.records + 2


def test_a_record_torn_by_a_really_full_disk_is_recovered_once_there_is_room(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A writer that died after a short write on a full tmpfs leaves a real torn line. The
    node restarting on the still-full disk starts (head: the last whole record; the move is
    pending and logged); verify calls it a torn tail; once space is freed the next record
    first moves the torn bytes aside and records torn_tail."""
    with small_disk(tmp_path / "disk", "64k") as disk:
        path = disk / "audit.log"
        log = _records(path, 3)
        if path.stat().st_size % os.sysconf("SC_PAGE_SIZE") == 0:
            _records(path, 1, log)  # leave room in the last page for a short write
        good = log.head
        filler = fill(disk)
        line = record_line({"seq": 99, "action": "shared", "pad": "x" * 8192, "prev": good})
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            written = os.write(fd, line)  # ... and the writer dies here
        finally:
            os.close(fd)
        assert 0 < written < len(line)  # the disk really was full
        assert main(["audit", "verify", str(path)]) == 4
        assert "torn tail" in capsys.readouterr().err

        with structlog.testing.capture_logs() as logs:
            restarted = AuditLog(path)
        assert restarted.head == good
        assert any(e["event"] == "audit.torn_tail_pending" for e in logs)
        assert not list(disk.glob("audit.log.torn-*"))

        filler.unlink()
        restarted.append("shared", "clip", "c1", "police", "f" * 64)
        assert _side_file(path).read_bytes() == line[:written]
        assert [r["action"] for r in _lines(path)[-2:]] == ["torn_tail", "shared"]
        assert verify_log(path).ok
