"""Retention by agreement at the receiver (:mod:`edge.receiver.retention`), on SQLite and
PostgreSQL: clips and snapshots past ``[retention] days`` are recorded in the signed chain
(``retention_delete``) and then deleted, a held incident's never; the unhappy paths: a file
already gone, a file that cannot be removed (retried), a pass interrupted between its
record and the unlink, ``days = 0`` (kept forever), a clock far in the past; and the
command ``edge receive retention``."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dash import Fleet, jpeg

from edge.cli.main import main
from edge.receiver.ackaudit.appender import Appender
from edge.receiver.ackaudit.verify import verify_chain
from edge.receiver.config import ReceiverConfig, loads
from edge.receiver.retention import (
    DAY,
    Pass,
    Retention,
    RetentionRefused,
    dry_run,
    run_pass,
)
from edge.receiver.store.incidents import Ref, Workflow
from edge.receiver.store.store import ReceiverStore
from edge.receiver.upkeep import Upkeep


@dataclass
class Rx:
    """A receiver's config file, store, node, chain appender and workflow."""

    conf: Path
    cfg: ReceiverConfig
    store: ReceiverStore
    fleet: Fleet
    appender: Appender
    workflow: Workflow
    tmp: Path
    made: int = 0

    def incident(self, *, clip: bool = True, snapshot: bool = True) -> dict[str, Any]:
        """A person alarm with a clip and a snapshot: its ref and both files."""
        out: dict[str, Any] = {}
        fields: dict[str, Any] = {}
        if clip:
            mp4 = self.tmp / f"clip-{time.monotonic_ns()}.mp4"
            mp4.write_bytes(os.urandom(5000))
            fields["clip_id"] = out["clip_id"] = self.fleet.clip(mp4)
            out["clip"] = Path(self.row("clips", "clip_id", out["clip_id"])["path"])
        if snapshot:
            self.made += 1  # bytes of its own (files are named by their content)
            fields["snapshot_id"] = out["snapshot_id"] = self.fleet.snapshot(jpeg(60 + self.made))
            out["snapshot"] = Path(self.row("snapshots", "id", out["snapshot_id"])["path"])
        event = self.fleet.event("person", **fields)
        got = self.store.db.query(
            "SELECT site, incident FROM occurrences WHERE first_event = ?", (event,)
        )
        out["ref"] = Ref(str(got[0][0]), str(got[0][1]))
        return out

    def row(self, table: str, col: str, item_id: str) -> dict[str, Any]:
        """One clip or snapshot row with its retention columns."""
        rows = self.store.db.query(
            f"SELECT path, deleted, deleted_seq, unlinked FROM {table} WHERE {col} = ?",
            (item_id,),
        )
        return dict(zip(("path", "deleted", "deleted_seq", "unlinked"), rows[0], strict=True))

    def records(self, action: str) -> list[dict[str, Any]]:
        """The chain's records of *action*, in order."""
        rows = self.store.db.query(
            "SELECT record FROM ack_chain WHERE action = ? ORDER BY seq", (action,)
        )
        return [json.loads(str(r[0])) for r in rows]

    def run(self, days: int = 30, after_days: float = 31) -> Pass:
        """A pass *after_days* from now."""
        return run_pass(self.store, self.appender, days, now=time.time() + after_days * DAY)


def _rx(tmp_path: Path, store: str) -> Iterator[Rx]:
    data = tmp_path / "rx"
    conf = tmp_path / "receiver.toml"
    conf.write_text(f'[receiver]\nname = "polda-test"\ndata_dir = "{data}"\nstore = "{store}"\n'
                    '[broker]\nhost = "localhost"\nallow_insecure = true\n'
                    "[retention]\ndays = 30\n")  # fmt: skip
    cfg = loads(conf.read_text())
    rx = ReceiverStore(cfg.store_url, cfg.data_dir)
    try:
        yield Rx(conf, cfg, rx, Fleet(rx), Appender(rx.db, data, "polda-test"),
                 Workflow(rx.db, data, "polda-test"), tmp_path)  # fmt: skip
    finally:
        rx.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def both(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rx]:
    """A receiver on SQLite and on PostgreSQL."""
    url = "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    yield from _rx(tmp_path, url)


@pytest.fixture
def rx(tmp_path: Path) -> Iterator[Rx]:
    """A receiver on SQLite."""
    yield from _rx(tmp_path, "sqlite")


def test_deleted_after_days_held_kept_each_recorded_first(both: Rx) -> None:
    """At 29 days nothing goes; at 31 days the clip and snapshot of an incident not held are
    recorded (retention_delete: kind, id, sha256, site, node, reason, age_days) and their
    files removed, the rows kept with the record's time and seq; a held incident's stay
    (listed as held). The chain verifies; a second pass finds nothing more."""
    gone, kept = both.incident(), both.incident()
    both.workflow.hold(kept["ref"], "budi", "LP/B/77/XII/2026: the court wants the clip")
    assert both.run(after_days=29).deleted == []
    done = both.run()
    assert sorted((d["type"], d["id"]) for d in done.deleted) == sorted(
        [("clip", gone["clip_id"]), ("snapshot", gone["snapshot_id"])]
    )
    assert sorted(h["id"] for h in done.held) == sorted([kept["clip_id"], kept["snapshot_id"]])
    assert done.unlinked == 2 and not done.failed
    assert not gone["clip"].exists() and not gone["snapshot"].exists()
    assert kept["clip"].exists() and kept["snapshot"].exists()
    records = both.records("retention_delete")
    assert [(r["kind"], r["id"]) for r in records] == [(d["type"], d["id"]) for d in done.deleted]
    clip = next(r for r in records if r["kind"] == "clip")
    assert clip["site"] == "semarang" and clip["node"] == "gudang-07"
    assert clip["reason"] == "retention" and 30.9 < clip["age_days"] < 31.1
    assert clip["sha256"] == gone["clip"].name.removesuffix(".mp4")
    row = both.row("clips", "clip_id", gone["clip_id"])
    assert (row["deleted"], row["deleted_seq"], row["unlinked"]) == (clip["time"], clip["seq"], 1)
    assert both.run().deleted == []
    check = verify_chain(both.store.db, both.cfg.data_dir)
    assert check.ok, check.problems


def test_hold_and_release_are_audited_officer_actions(both: Rx) -> None:
    """A hold needs a reason, cannot be placed twice, and its release needs one too; each is
    a chain record (kind incident, action hold/release, site, user, reason) with its note,
    the workflow state untouched (a closed incident may be held). Once released, the
    incident's material is deleted by the next pass."""
    one = both.incident(snapshot=False)
    ref, w = one["ref"], both.workflow
    w.close(ref, "sari", "police_report", report_no="LP/1")
    with pytest.raises(Exception, match="needs a reason") as e:
        w.hold(ref, "budi", "  ")
    assert getattr(e.value, "status", None) == 400
    held = w.hold(ref, "budi", "evidence for LP/1")
    assert held["held_by"] == "budi" and held["status"] == "closed"
    with pytest.raises(Exception, match="already on hold \\(by budi\\)"):
        w.hold(ref, "sari", "again")
    assert both.run().held and one["clip"].exists()
    w.hold(ref, "sari", "court case closed", on=False)
    with pytest.raises(Exception, match="is not on hold"):
        w.hold(ref, "sari", "again", on=False)
    hold, release = both.records("hold") + both.records("release")
    assert (hold["kind"], hold["id"], hold["site"], hold["user"], hold["reason"]) == (
        "incident",
        ref.incident,
        ref.site,
        "budi",
        "evidence for LP/1",
    )
    assert (release["user"], release["reason"], release["status"]) == (
        "sari",
        "court case closed",
        "closed",
    )
    assert [d["id"] for d in both.run().deleted] == [one["clip_id"]]
    assert not one["clip"].exists()
    check = verify_chain(both.store.db, both.cfg.data_dir)
    assert check.ok and check.notes == 4, check.problems


_DIES_AFTER_RECORDING = """
import os, sys, time
from pathlib import Path
from edge.receiver.ackaudit.appender import Appender
from edge.receiver.retention import DAY, Pass, record_due
from edge.receiver.store.store import ReceiverStore
store = ReceiverStore(sys.argv[1], Path(sys.argv[2]))
out = Pass(time.time() + 31 * DAY, 30)
record_due(Appender(store.db, Path(sys.argv[2]), "polda-test"), 30, out.now, 200, out)
print(len(out.deleted), flush=True)
os._exit(137)  # killed between the commit and the unlink: no cleanup, no close
"""


def test_interrupted_between_record_and_unlink(rx: Rx) -> None:
    """A process killed after its pass committed the records and before it removed the
    files leaves both (the record is never missing); the next pass removes the file and
    writes no second record."""
    one = rx.incident(snapshot=False)
    died = subprocess.run([sys.executable, "-c", _DIES_AFTER_RECORDING, rx.cfg.store_url,
                           str(rx.cfg.data_dir)], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert died.returncode == 137 and died.stdout.splitlines()[-1] == "1", died.stderr[-2000:]
    assert one["clip"].exists() and len(rx.records("retention_delete")) == 1
    assert rx.row("clips", "clip_id", one["clip_id"])["unlinked"] == 0
    assert verify_chain(rx.store.db, rx.cfg.data_dir).ok
    done = rx.run()
    assert done.deleted == [] and done.unlinked == 1 and not one["clip"].exists()
    assert len(rx.records("retention_delete")) == 1


def test_file_already_gone_and_unlink_failing(rx: Rx) -> None:
    """A file someone removed already is recorded all the same and counted as gone; one
    that cannot be removed (here a directory in its place: os.unlink refuses it even to
    root) is recorded, reported, and tried again by the next pass until it goes."""
    lost, stuck = rx.incident(snapshot=False), rx.incident(snapshot=False)
    lost["clip"].unlink()
    stuck["clip"].unlink()
    stuck["clip"].mkdir()
    (stuck["clip"] / "x").write_bytes(b"x")
    done = rx.run()
    assert len(done.deleted) == 2 and done.gone == 1 and done.unlinked == 0
    assert len(done.failed) == 1 and str(stuck["clip"]) in done.failed[0]
    assert rx.row("clips", "clip_id", stuck["clip_id"])["unlinked"] == 0
    again = rx.run()
    assert again.failed and again.deleted == []
    (stuck["clip"] / "x").unlink()
    stuck["clip"].rmdir()
    stuck["clip"].write_bytes(b"back")
    last = rx.run()
    assert last.unlinked == 1 and not last.failed and not stuck["clip"].exists()
    assert rx.row("clips", "clip_id", stuck["clip_id"])["unlinked"] == 1
    assert len(rx.records("retention_delete")) == 2


def test_days_zero_keeps_forever_and_a_clock_far_back_deletes_nothing(rx: Rx) -> None:
    """``days = 0``: nothing is deleted even ten years on (the dry run agrees); a clock
    reading 1980, before the chain's signed head, refuses the pass (dry run too) and
    nothing is recorded."""
    one = rx.incident()
    assert rx.run(days=0, after_days=3650).deleted == []
    assert dry_run(rx.store, 0, time.time() + 3650 * DAY).deleted == []
    rx.workflow.hold(one["ref"], "budi", "x")  # the chain now has a signed head
    rx.workflow.hold(one["ref"], "budi", "y", on=False)
    far_back = time.mktime((1980, 1, 1, 0, 0, 0, 0, 0, 0))
    with pytest.raises(RetentionRefused, match="before the audit chain's last signed head"):
        run_pass(rx.store, rx.appender, 30, now=far_back)
    with pytest.raises(RetentionRefused):
        dry_run(rx.store, 30, far_back)
    assert rx.records("retention_delete") == [] and one["clip"].exists()


def test_upkeep_runs_the_pass_at_its_first_round_bounded(rx: Rx) -> None:
    """The supervision loop's upkeep runs retention at once, then every check_interval_s;
    one round deletes at most per_round (the loop is never held up long) and the next
    rounds go on at once until nothing is due: three clips stored 40 days ago, one a
    round."""
    clips = [rx.incident(snapshot=False)["clip"] for _ in range(3)]
    with rx.store.db.transaction() as cur:
        cur.execute("UPDATE clips SET updated = updated - ?", (40 * DAY,))
    retention = Retention(rx.store, rx.appender, 30, every_s=3600, batch=1, per_round=1)
    upkeep = Upkeep(rx.store, retention=retention)
    counts = []
    for _ in range(5):
        upkeep.run()
        counts.append(len(retention.last.deleted) if retention.last else None)
    assert counts[:3] == [1, 1, 1] and not any(c.exists() for c in clips), counts
    assert counts[3] == 0 and retention.last is not None and not retention.last.more
    assert len(rx.records("retention_delete")) == 3


def test_command(rx: Rx, capsys: pytest.CaptureFixture[str]) -> None:
    """``edge receive -c CONF retention --dry-run --now ISO`` lists what would go (nothing
    written), the pass deletes it (exit 0), ``--json`` says the same; a bad --now is 2."""
    one = rx.incident()
    later = time.strftime("%Y-%m-%dT%H:%M:%S+07:00", time.gmtime(time.time() + 7 * 3600 + 31 * DAY))
    conf = str(rx.conf)
    assert main(["receive", "-c", conf, "retention", "--dry-run", "--now", later]) == 0
    said = capsys.readouterr().out
    assert said.count("would delete\t") == 2 and "2 would delete, 0 held" in said
    assert one["clip"].exists() and rx.records("retention_delete") == []
    assert main(["receive", "-c", conf, "retention", "--now", later, "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert len(done["deleted"]) == 2 and done["unlinked"] == 2
    assert not one["clip"].exists() and not one["snapshot"].exists()
    assert main(["receive", "-c", conf, "retention", "--now", "tomorrow"]) == 2
    assert "--now 'tomorrow': not an ISO 8601 time" in capsys.readouterr().err


def test_config_bounds() -> None:
    """``[retention] days`` is bounded (0 .. 3650) and unknown keys are refused, each
    error naming the key."""
    base = (
        '[receiver]\nname = "r"\ndata_dir = "/tmp/x"\n[broker]\nhost = "h"\nallow_insecure = true\n'
    )
    assert loads(base).retention.days == 0
    assert loads(base + "[retention]\ndays = 90\n").retention.days == 90
    for bad, key in (("days = -1", "days"), ("days = 5000", "days"), ("keep = 3", "keep")):
        with pytest.raises(Exception, match=f"retention.*{key}"):
            loads(base + f"[retention]\n{bad}\n")


def test_verify_catches_deletions_and_holds_edited_in_the_store(both: Rx) -> None:
    """``audit verify`` holds every deletion row to its record and every hold to its last
    record: a deletion mark removed, one added by hand, and a hold lifted by hand are each
    one line naming the item or incident."""
    gone, kept = both.incident(snapshot=False), both.incident(clip=False)
    both.workflow.hold(kept["ref"], "budi", "keep it")
    both.run()
    assert verify_chain(both.store.db, both.cfg.data_dir).ok
    with both.store.db.transaction() as cur:
        cur.execute("UPDATE clips SET deleted = NULL WHERE clip_id = ?", (gone["clip_id"],))
        cur.execute("UPDATE snapshots SET deleted = 5 WHERE id = ?", (kept["snapshot_id"],))
        cur.execute("UPDATE incidents SET held = NULL")
    problems = "\n".join(verify_chain(both.store.db, both.cfg.data_dir).problems)
    assert f"retention deletion of clip semarang/gudang-07/{gone['clip_id']}): no such row" in (
        problems
    )
    assert (f"snapshot semarang/gudang-07/{kept['snapshot_id']}: marked deleted by retention "
            "with no chain record") in problems  # fmt: skip
    assert f"incident {kept['ref']}: not on hold, though chain record seq" in problems


DOCS = Path(__file__).resolve().parents[3] / "docs" / "receiver.md"


def test_documented_config_and_commands(rx: Rx, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/receiver.md's ``[retention]`` block is a valid receiver config, and its three
    commands run as written (on this receiver's config): the dry run and the pass exit 0,
    the pass at 2027-01-15 prints JSON naming what it deleted."""
    text = DOCS.read_text().split("## Retention by agreement", 1)[1].split("\n## ", 1)[0]
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    base = rx.conf.read_text().split("[retention]", 1)[0]
    assert loads(base + block).retention.days == 30
    commands = text.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert len(commands) == 3
    rx.incident(snapshot=False)
    codes = []
    for line in commands:
        argv = shlex.split(line.split("#", 1)[0])
        assert argv[:3] == ["edge", "receive", "-c"]
        argv[3] = str(rx.conf)
        codes.append(main(argv[1:]))
    assert codes == [0, 0, 0]
    said = capsys.readouterr().out
    assert "retention dry run at" in said and "retention pass at" in said
    assert '"dry_run": false' in said


def test_shared_bytes_and_a_path_outside_are_left_alone(rx: Rx, tmp_path: Path) -> None:
    """Two snapshots of the same bytes share one file: deleting the one not held keeps the
    file for the held one (removed once that is released and deleted too). A row whose
    path was edited to point outside the data directory's objects is recorded, but the
    file there is never touched (reported, tried again)."""
    same = jpeg(90)
    a, b = rx.fleet.snapshot(same), rx.fleet.snapshot(same)
    held = rx.fleet.event("person", snapshot_id=b)
    ref = rx.store.db.query("SELECT site, incident FROM occurrences WHERE first_event = ?",
                            (held,))[0]  # fmt: skip
    rx.workflow.hold(Ref(str(ref[0]), str(ref[1])), "budi", "keep")
    path = Path(rx.row("snapshots", "id", a)["path"])
    assert path == Path(rx.row("snapshots", "id", b)["path"])
    first = rx.run()
    assert [d["id"] for d in first.deleted] == [a] and path.exists()
    assert rx.row("snapshots", "id", a)["unlinked"] == 1
    rx.workflow.hold(Ref(str(ref[0]), str(ref[1])), "budi", "done", on=False)
    assert [d["id"] for d in rx.run().deleted] == [b] and not path.exists()
    victim = tmp_path / "not-evidence.jpg"
    victim.write_bytes(b"keep me")
    c = rx.fleet.snapshot(jpeg(91))
    with rx.store.db.transaction() as cur:
        cur.execute("UPDATE snapshots SET path = ? WHERE id = ?", (str(victim), c))
    done = rx.run()
    assert [d["id"] for d in done.deleted] == [c] and victim.read_bytes() == b"keep me"
    assert done.failed and "not under" in done.failed[0]


def test_a_damaged_chain_deletes_nothing(rx: Rx, capsys: pytest.CaptureFixture[str]) -> None:
    """A chain that does not end at its signed head takes no deletion: the command exits 1
    saying so, the file stays, nothing is marked."""
    one = rx.incident(snapshot=False)
    rx.workflow.hold(one["ref"], "budi", "x")
    rx.workflow.hold(one["ref"], "budi", "y", on=False)
    with rx.store.db.transaction() as cur:
        cur.execute("DELETE FROM ack_chain WHERE seq = (SELECT MAX(seq) FROM ack_chain)")
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 31 * DAY))
    assert main(["receive", "-c", str(rx.conf), "retention", "--now", later]) == 1
    assert "nothing deleted: the audit chain is damaged" in capsys.readouterr().err
    assert one["clip"].exists() and rx.row("clips", "clip_id", one["clip_id"])["deleted"] is None
