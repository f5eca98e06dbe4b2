"""The SQLite store's soundness (issue 20, finding 7: random bytes written into the middle of
the store went unnoticed while 1,000 events were committed on the malformed file):
``PRAGMA quick_check`` at every start refuses a damaged file with one line naming it (exit
1), and once a day while running raises ``store_corrupt``, cleared once the file is sound."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rx import receiver_toml
from timing import FakeClock

from edge.cli.main import main
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.config import ReceiverConfig, loads
from edge.receiver.integrity import IntegrityCheck
from edge.receiver.store import reads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.supervise import Supervisor
from edge.receiver.trust import Registry

pytestmark = pytest.mark.faults


def _filled(data_dir: Path, events: int = 1000) -> Path:
    """A closed receiver.db holding *events* events; its path."""
    s = ReceiverStore(f"sqlite:///{data_dir / 'receiver.db'}", data_dir)
    rows = []
    for i in range(events):
        payload = json.dumps({"id": f"e-{i:06d}", "kind": "motion", "zones": ["lorong"]})
        rows.append(("semarang", "gudang-01", f"e-{i:06d}", "motion", "info", "instant",
                     "gudang-1", "2026-01-01T00:00:00Z", time.time(), payload))  # fmt: skip
    with s.db.transaction() as cur:
        cur.executemany(
            "INSERT INTO events (site, node, id, kind, severity, state, camera, time, received,"
            " payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    s.close()
    return data_dir / "receiver.db"


def _config(data_dir: Path) -> ReceiverConfig:
    """A receiver config on a SQLite store under *data_dir* (no broker needed)."""
    return loads(
        f'[receiver]\nname = "polda-test"\ndata_dir = "{data_dir}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
    )


def _damage(db: Path, seed: int, *, whole_page: bool) -> None:
    """Random bytes over a b-tree page in the middle of *db*: its header and cell pointers
    (64 bytes), or the whole page."""
    raw = bytearray(db.read_bytes())
    size = int.from_bytes(raw[16:18], "big")
    btree = [k for k in range(1, len(raw) // size) if raw[k * size] in (0x02, 0x05, 0x0A, 0x0D)]
    rnd = random.Random(seed)
    start = btree[len(btree) // 2 + rnd.randrange(-3, 4)] * size
    length = size if whole_page else 64
    raw[start : start + length] = rnd.randbytes(length)
    db.write_bytes(bytes(raw))


@pytest.mark.parametrize(("seed", "whole_page"), [(s, w) for s in range(4) for w in (False, True)])
def test_random_bytes_in_the_middle_of_the_store_stop_the_start(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    capsys: pytest.CaptureFixture[str],
    seed: int,
    whole_page: bool,
) -> None:
    """A store with 1,000 events, random bytes over a b-tree page in its middle: `edge
    receive` (any action, the receiver itself too) exits 1 with one line naming the file
    and what quick_check found, no traceback, the file left as it was."""
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(tmp_path / "rx", broker, ca))
    db = _filled(tmp_path / "rx")
    _damage(db, seed, whole_page=whole_page)
    damaged = db.read_bytes()
    with pytest.raises(SystemExit) as stop:
        main(["receive", "-c", str(conf), "list"])
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(db) in err and "Traceback" not in err, err
    assert "malformed" in err, err
    run = subprocess.run([sys.executable, "-m", "edge", "receive", "-c", str(conf)],
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and len(lines) == 1 and str(db) in lines[0], run.stderr
    assert db.read_bytes() == damaged


def test_a_sound_store_starts(tmp_path: Path) -> None:
    """The start check passes a sound file (and an empty one)."""
    db = _filled(tmp_path / "rx", 50)
    s = ReceiverStore(f"sqlite:///{db}", tmp_path / "rx")
    assert s.db.quick_check() == []
    s.close()


def test_the_daily_check_raises_and_clears_store_corrupt(tmp_path: Path) -> None:
    """While running: a day after the start the supervision loop runs quick_check; a file
    damaged meanwhile raises store_corrupt (naming the file and the damage); restored, the
    next day's check clears it. Between two checks it does not run."""
    db = _filled(tmp_path / "rx")
    good = db.read_bytes()
    s = ReceiverStore(f"sqlite:///{db}", tmp_path / "rx")
    clock = FakeClock()
    sup = Supervisor(_config(tmp_path / "rx"), s, Registry([]))
    sup.integrity = IntegrityCheck(s, clock=clock)
    try:
        sup.check()
        assert sup.integrity.problems == [] and _corrupt_alerts(s) == []
        shutil.copy(db, tmp_path / "backup.db")
        raw = bytearray(good)
        size = int.from_bytes(raw[16:18], "big")
        middle = (len(raw) // size // 2) * size
        raw[middle : middle + 64] = random.Random(7).randbytes(64)
        db.write_bytes(bytes(raw))
        clock.advance(3600)
        sup.check()  # not due yet
        assert _corrupt_alerts(s) == []
        clock.advance(86400)
        sup.check()
        assert sup.integrity.problems, "quick_check found nothing"
        alerts = _corrupt_alerts(s)
        assert len(alerts) == 1 and str(db) in str(alerts[0]["detail"])
        db.write_bytes(good)
        clock.advance(86400)
        sup.check()
        assert sup.integrity.problems == [] and _corrupt_alerts(s) == []
    finally:
        s.close()


def test_the_daily_check_leaves_postgresql_alone(tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL checks its own pages: the daily check does nothing there."""
    s = ReceiverStore(pg_url, tmp_path / "rx")
    try:
        check = IntegrityCheck(s, every_s=0)
        check.run()
        assert check.problems == [] and _corrupt_alerts(s) == []
    finally:
        s.close()


def _corrupt_alerts(s: ReceiverStore) -> list[dict[str, object]]:
    return [a for a in reads.alerts(s.db) if a["kind"] == "store_corrupt"]
