"""Corruption inside the outbox file (header intact), and the file deleted or swapped: found
at start (``quick_check``) or while running (:meth:`Outbox.check`, or the first statement
that trips on it), the old file kept aside, the outbox rebuilt from what can still be read,
row by row, and the loss reported with counts and the ids it can name. Never silent, never
a queue that fails every statement forever."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from edge.outbox.guard import OutboxState
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults

PAGE = 4096


def _event(i: int, prio: Priority = Priority.EVENT, pad: int = 40) -> OutboxMessage:
    body = json.dumps({"n": i, "camera": "hall", "pad": "x" * pad}).encode()
    return OutboxMessage(f"ev-{i:04d}", prio, "door_open", "events", body, time.time())


def _smoke() -> OutboxMessage:
    return OutboxMessage("smoke-1", Priority.ALARM, "smoke", "events", b"{}", time.time())


def _filled(path: Path, n: int, *, seed: int = 1, two: bool = False) -> Path:
    """An outbox at *path* with *n* queued events of assorted sizes (for two destinations
    when *two*), closed cleanly (its WAL checkpointed into the file)."""
    rnd = random.Random(seed)
    box = Outbox(path)
    for i in range(n):
        dests = ["police", "operator"] if two and i % 3 else ["police"]
        box.put(_event(i, Priority(i % 3), pad=rnd.randint(10, 2500)), dests)
    box.close()
    return path


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def test_4k_overwritten_at_8192_is_detected_set_aside_and_rebuilt(tmp_path: Path) -> None:
    """The red team's case: 22 queued events, 4 KiB of garbage at offset 8192 (SQLite's
    header intact, so opening it works): the outbox finds it at start, keeps the damaged file
    as outbox.sqlite.corrupt-*, rebuilds a sound one holding every readable event, and the
    report's counts add up to what was queued. Deliveries are recorded again (no message
    goes forever) and an alarm is stored."""
    path = _filled(tmp_path / "outbox.sqlite", 22)
    _overwrite(path, 8192, random.Random(7).randbytes(PAGE))
    assert sqlite3.connect(path).execute("PRAGMA quick_check").fetchone()[0] != "ok"
    box = Outbox(path)
    r = box.recovered
    assert r is not None and r["recovered"] + r["lost"] == 22, r
    assert "quick_check" not in r["reason"] and "Page" in r["reason"]  # SQLite's own words
    kept = Path(r["kept_as"])
    assert kept.name.startswith("outbox.sqlite.corrupt-") and kept.stat().st_size > 0
    assert sqlite3.connect(path).execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert box.total() == r["recovered"]
    waiting = box.pending("police", 100)
    box.ack("police", [p.seq for p in waiting])  # the books work again
    assert box.total() == 0
    assert box.put(_smoke(), ["police"]) is not None
    assert [x.reason for x in box.take_reports()] == [r["reason"]] and not box.take_reports()
    box.close()
    again = Outbox(path)  # the rebuilt file is sound: nothing to recover at the next start
    assert again.recovered is None and again.total() == 1
    again.close()


@pytest.mark.slow
def test_any_damaged_page_loses_only_what_it_held(tmp_path: Path) -> None:
    """Each page of a real outbox (300 messages, two destinations, some delivered to one)
    overwritten in turn, with garbage and with zeros: the outbox always opens, reports a
    recovery whose counts add up to the 300 queued, names what it lost, and stores an alarm
    after. A damaged index page loses nothing (the rows are read from the table)."""
    src = _filled(tmp_path / "src.sqlite", 300, two=True)
    pages = src.stat().st_size // PAGE
    rnd = random.Random(3)
    for page in range(1, pages):
        for fill in (rnd.randbytes(PAGE), bytes(PAGE)):
            path = tmp_path / f"p{page}-{fill[0]}" / "outbox.sqlite"
            path.parent.mkdir()
            shutil.copy(src, path)
            _overwrite(path, page * PAGE, fill)
            box = Outbox(path)
            r = box.recovered
            if r is None:  # a free or unused page: the file is sound
                assert box.total() == 300, page
            else:
                assert r["recovered"] + r["lost"] == 300, (page, r)
                assert len(r["lost_ids"]) == min(r["lost"], 20), (page, r)
                assert box.total() == r["recovered"], page
            assert box.put(_smoke(), ["police"]) is not None
            box.close()
            shutil.rmtree(path.parent)


def test_damage_while_running_is_found_by_check_and_rebuilt(tmp_path: Path) -> None:
    """The file is damaged under a running outbox (its pages rewritten on disk): the next
    check's quick_check finds it, the outbox is rebuilt from the open connection, the report
    says what was found (the open connection still had every row: none lost), and an alarm
    is stored after."""
    path = _filled(tmp_path / "outbox.sqlite", 40)
    box = Outbox(path, check_interval_s=3600)
    box.check()  # sound: nothing happens
    assert box.recovered is None
    _overwrite(path, 10 * PAGE, bytes(2 * PAGE))
    box.check(now=time.monotonic() + 7200)  # the quick_check is due
    r = box.recovered
    assert r is not None and "quick_check" in r["reason"], r
    assert r["recovered"] + r["lost"] == 40 and box.total() == r["recovered"]
    box.put(_smoke(), ["police"])
    assert "smoke-1" in [p.message.id for p in box.pending("police", 100)]
    assert len(box.take_reports()) == 1
    box.close()


def test_outbox_deleted_while_running_is_rebuilt_from_the_open_file(tmp_path: Path) -> None:
    """``rm outbox.sqlite`` under a running node: the open connection still reads the
    deleted file, so the next check rebuilds it in place with every message (lost 0) and
    reports it; a put after the delete (SQLite: readonly, database moved) is stored too."""
    path = _filled(tmp_path / "outbox.sqlite", 11)
    box = Outbox(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    assert box.put(_smoke(), ["police"]) is not None  # rebuilt on the spot, then stored
    r = box.recovered
    assert r is not None and r["recovered"] == 11 and r["lost"] == 0, r
    assert "deleted" in r["reason"]
    assert path.exists() and box.total() == 12
    box.close()
    assert Outbox(path).total() == 12  # on disk, not only in the unlinked inode


def test_check_finds_a_deleted_file_before_any_write(tmp_path: Path) -> None:
    """The housekeeping check notices the deletion itself (no statement needed)."""
    path = _filled(tmp_path / "outbox.sqlite", 5)
    box = Outbox(path)
    path.unlink()
    box.check()
    r = box.recovered
    assert r is not None and r["recovered"] == 5 and "deleted while the node ran" in r["reason"]
    assert path.exists() and Outbox(path).total() == 5
    box.close()


def test_outbox_missing_at_start_is_reported_with_the_last_count(tmp_path: Path) -> None:
    """The node had an outbox (its state file says so, with 11 messages when last counted)
    and the file is gone at start: reported as lost (an estimate, the last count), never
    silently replaced by an empty queue; a stray -wal is kept aside, not replayed."""
    path = _filled(tmp_path / "outbox.sqlite", 11)
    state = OutboxState.read(path)
    assert state is not None and state.messages == 11
    path.unlink()
    Path(f"{path}-wal").write_bytes(b"stale")
    box = Outbox(path)
    r = box.recovered
    assert r is not None and r["lost"] == 11 and r["estimate"] and r["recovered"] == 0
    assert "missing at start" in r["reason"]
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").read_bytes() != b"stale"
    assert list(tmp_path.glob("outbox.sqlite.orphan-*-wal"))
    assert box.total() == 0 and box.put(_smoke(), ["police"]) is not None
    box.close()


def test_a_new_node_starts_an_outbox_without_a_report(tmp_path: Path) -> None:
    """No outbox and no state: a first start, nothing lost, nothing reported."""
    box = Outbox(tmp_path / "outbox.sqlite")
    assert box.recovered is None and not box.take_reports()
    box.close()


def test_lost_delivery_rows_are_routed_again_by_the_policy(tmp_path: Path) -> None:
    """Damage in the delivery table (who still needs which message) with its index damaged
    too: the messages read are queued again for whoever the sharing policy says may have
    them (*route*), never for anyone else; without a route they count as lost."""
    path = _filled(tmp_path / "outbox.sqlite", 30)
    db = sqlite3.connect(path)
    roots = dict(db.execute("SELECT name, rootpage FROM sqlite_master").fetchall())
    db.close()
    for name in ("delivery", "delivery_order"):
        _overwrite(path, (roots[name] - 1) * PAGE, bytes(PAGE))
    box = Outbox(path, route=lambda m: ["police"] if m.kind == "door_open" else [])
    r = box.recovered
    assert r is not None and r["recovered"] == 30 and r["lost"] == 0, r
    assert len(box.pending("police", 100)) == 30 and not box.pending("operator", 100)
    box.close()
    path2 = _filled(tmp_path / "b" / "outbox.sqlite", 30)
    for name in ("delivery", "delivery_order"):
        _overwrite(path2, (roots[name] - 1) * PAGE, bytes(PAGE))
    unrouted = Outbox(path2)
    assert unrouted.recovered is not None and unrouted.recovered["lost"] == 30
    unrouted.close()


def _mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_outbox_files_are_owner_only(tmp_path: Path) -> None:
    """outbox.sqlite, its -wal and -shm, its state and its reserve are 0600 (umask 022 or
    not); an outbox left 0644 by an older version is narrowed at open; a rebuilt one too."""
    old = os.umask(0o022)
    try:
        path = tmp_path / "outbox.sqlite"
        box = Outbox(path, reserve_bytes=1 << 20)
        box.put(_event(1), ["police"])
        for name in ("outbox.sqlite", "outbox.sqlite-wal", "outbox.sqlite-shm",
                     "outbox.sqlite.state", "outbox.sqlite.reserve"):  # fmt: skip
            assert _mode(tmp_path / name) == 0o600, name
        box.close()
        os.chmod(path, 0o644)
        Outbox(path).close()
        assert _mode(path) == 0o600
        _overwrite(path, 2 * PAGE, bytes(PAGE))
        rebuilt = Outbox(path)
        assert rebuilt.recovered is not None and _mode(path) == 0o600
        rebuilt.close()
    finally:
        os.umask(old)
