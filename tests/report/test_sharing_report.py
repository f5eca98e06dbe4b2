"""The node's sharing report (issue 26): ``edge report`` writes from the audit chain and the
config a signed bundle saying what went to whom in a period, the cameras kept private, the
masks in force (drawn over the camera's view), the changes to what is shared; ``edge report
verify`` checks it offline and, given the audit log, that it is the log's."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import cv2
import pytest
from sharingnode import T0, SharingNode, made_day

from edge.cli.main import main
from edge.core.kinds import Kind
from edge.evidence.keys import public_pem
from edge.report.write import Period, write_report

DAY = T0 + 86400


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> SharingNode:
    """One made morning of traffic, shared by the tests that only read it."""
    return made_day(tmp_path_factory.mktemp("day"))


def report(node: SharingNode, out: Path, *args: str, since: float = T0,
           until: float = DAY) -> int:  # fmt: skip
    """Run ``edge report`` for *node*."""
    return main(["report", "--config", str(node.data / "node.toml"), "--since", str(since),
                 "--until", str(until), "--out", str(out), *args])  # fmt: skip


def public_key(node: SharingNode, tmp: Path) -> Path:
    """The node's public key as ``edge keys export`` prints it."""
    path = tmp / "node-public.pem"
    if not path.exists():
        path.write_text(f"# node key {node.key.id}\n{public_pem(node.key.public)}")
    return path


def verify(node: SharingNode, out: Path, tmp: Path, *extra: str) -> int:
    """Run ``edge report verify`` with the node's key and audit log."""
    return main(["report", "verify", str(out), "--public-key", str(public_key(node, tmp)),
                 "--audit-log", str(node.cfg.audit_path), *extra])  # fmt: skip


def image(path: Path) -> Any:
    """The PNG at *path* as pixels (it must be readable)."""
    pixels = cv2.imread(str(path))
    assert pixels is not None, path
    return pixels


def loaded(out: Path) -> dict[str, Any]:
    """The report's report.json."""
    data: dict[str, Any] = json.loads((out / "report.json").read_text())
    return data


def test_the_report_says_what_went_to_whom_and_verifies(
    day: SharingNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every item delivered in the day, per destination, with the fields the receiver's
    export is compared by (a clip's sha256 is its MP4's, its kind its event's, its record
    the last chunk's); the counts; the private camera; the hall's mask with its polygon
    drawn over its latest snapshot; the police's scope at the end and its change in the
    period; the chain through the last checkpoint; and verify agrees, offline and with the
    audit log."""
    out = tmp_path / "rep"
    assert report(day, out) == 0
    r = loaded(out)
    assert (r["schema"], r["site"], r["node"], r["key_id"]) == (
        "warehouse-edge/sharing-report/1",
        "semarang-utara",
        "gudang-01",
        day.key.id,
    )
    police = {(i["type"], i["camera"], i["kind"]) for i in r["delivered"]
              if i["destination"] == "police"}  # fmt: skip
    assert police == {("snapshot", "hall", "person"), ("event", "hall", "person"),
                      ("clip", "hall", "person"), ("event", "gate", "person"),
                      ("event", None, "door_open")}  # fmt: skip
    assert r["counts"] == {
        "police": {"hall": {"person": 1}, "gate": {"person": 1},
                   "sensor:pintu-utama": {"door_open": 1}},
        "operator": {"hall": {"person": 1}, "gate": {"door_open": 1, "person": 1},
                     "sensor:pintu-utama": {"door_open": 1}},
    }  # fmt: skip
    clip = next(i for i in r["delivered"] if i["type"] == "clip" and i["destination"] == "police")
    mp4 = (day.store.path_for("clip-1.mp4")).read_bytes()
    assert clip["sha256"] == hashlib.sha256(mp4).hexdigest() and clip["audit_seq"] == 11
    snap = next(i for i in r["delivered"] if i["type"] == "snapshot")
    jpeg = day.store.path_for("snap-1.jpg").read_bytes()
    assert snap["sha256"] == hashlib.sha256(jpeg).hexdigest() and snap["time"] == T0 + 3600
    assert all(i["site"] == "semarang-utara" and i["node"] == "gudang-01" for i in r["delivered"])
    cams = r["cameras"]
    assert cams["ruang-ganti"]["private"] and not cams["hall"]["private"]
    assert cams["hall"]["masks"] == [
        {"name": "kantor kepala gudang", "points": [[0, 0], [320, 0], [320, 180], [0, 180]]}
    ]
    assert cams["hall"]["overlay_base"] == "snapshot" and cams["gate"]["overlay_base"] == "canvas"
    png = image(out / cams["hall"]["overlay"])
    assert png.shape == (360, 640, 3)
    assert r["scope"]["police"]["cameras"] == ["hall", "gate"]
    [change] = r["scope_history"]
    assert change["destination"] == "police" and change["old"]["cameras"] == ["hall"]
    assert r["retention"]["max_age_days"] == 14
    assert (r["chain"]["first_seq"], r["chain"]["last_seq"]) == (1, 23)
    assert len((out / "chain.jsonl").read_text().splitlines()) == 23
    assert [(n["action"], n["audit_seq"]) for n in r["chain"]["notices"]] == [("key_init", 1)]
    html = (out / "report.html").read_text()
    assert html.index("Laporan berbagi data") < html.index("Sharing report")
    assert "07-12-2026 01:00:00 WIB" in html and "PRIBADI" in html
    capsys.readouterr()
    assert verify(day, out, tmp_path) == 0
    said = capsys.readouterr().out
    assert "OK" in said and f"signed by key {day.key.id}" in said


def test_the_scope_and_destination_are_those_asked_for(day: SharingNode, tmp_path: Path) -> None:
    """Until before the change: the police had the hall only, no change in the period; with
    --destination only the police's items and counts; with --no-pictures the hall's masks
    on a grey canvas, not over its snapshot."""
    out = tmp_path / "police"
    assert report(day, out, "--destination", "police", until=T0 + 10000) == 0
    r = loaded(out)
    assert r["destination"] == "police" and set(r["scope"]) == {"police"}
    assert r["scope"]["police"]["cameras"] == ["hall"] and r["scope_history"] == []
    assert {i["destination"] for i in r["delivered"]} == {"police"}
    assert r["counts"] == {"police": {"hall": {"person": 1}}}
    assert r["chain"]["last_seq"] == 17  # through the checkpoint after the period
    assert verify(day, out, tmp_path) == 0
    bare = tmp_path / "bare"
    assert report(day, bare, "--no-pictures") == 0
    assert loaded(bare)["cameras"]["hall"]["overlay_base"] == "canvas"


def test_an_empty_period_is_a_report_of_nothing(day: SharingNode, tmp_path: Path) -> None:
    """A period with no record: nothing delivered, no chain, said so on the page; it
    verifies."""
    out = tmp_path / "empty"
    assert report(day, out, since=T0 - 86400, until=T0 - 3600) == 0
    r = loaded(out)
    assert r["delivered"] == [] and r["counts"] == {} and r["chain"]["first_seq"] is None
    assert "Tidak ada kejadian yang dikirim" in (out / "report.html").read_text()
    assert verify(day, out, tmp_path) == 0


def test_a_tampered_report_is_caught(
    day: SharingNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An edited file breaks the signature; re-signed with the node's own key, an item left
    out is caught against chain.jsonl, a chain record edited by its hash, a destination's
    scope against the change the chain recorded, a mask polygon moved by the mask hash;
    another key's signature is named."""
    from edge.evidence.bundle import sign_bundle
    from edge.evidence.keys import NodeKey

    out = tmp_path / "rep"
    assert report(day, out) == 0
    html = out / "report.html"
    html.write_text(html.read_text().replace("gate", "gerbang"))
    capsys.readouterr()
    assert verify(day, out, tmp_path) == 1
    assert "report.html: changed since it was signed" in capsys.readouterr().err
    r = loaded(out)
    r["delivered"] = [i for i in r["delivered"] if i["kind"] != "door_open"]
    (out / "report.json").write_text(json.dumps(r))
    sign_bundle(out, day.key, day.key.public, r["schema"])
    assert verify(day, out, tmp_path) == 1
    assert "leaves out event" in capsys.readouterr().err
    chain = (out / "chain.jsonl").read_text()
    lines = chain.splitlines(keepends=True)
    lines[4] = lines[4].replace('"police"', '"polisi"')
    (out / "chain.jsonl").write_text("".join(lines))
    sign_bundle(out, day.key, day.key.public, r["schema"])
    assert verify(day, out, tmp_path) == 1
    assert "chain.jsonl:5: record seq 5 was altered" in capsys.readouterr().err
    (out / "chain.jsonl").write_text(chain)
    r = loaded(out)
    r["scope"]["police"]["cameras"] = ["hall"]
    r["cameras"]["hall"]["masks"][0]["points"][1] = [300, 0]
    (out / "report.json").write_text(json.dumps(r))
    sign_bundle(out, day.key, day.key.public, r["schema"])
    assert verify(day, out, tmp_path) == 1
    err = capsys.readouterr().err
    assert "destination police: scope is not what audit seq 18" in err
    assert "camera hall: its masks do not hash to its masks_sha256" in err
    r["cameras"] = ["hall"]  # not the shape a report has
    (out / "report.json").write_text(json.dumps(r))
    sign_bundle(out, day.key, day.key.public, r["schema"])
    assert verify(day, out, tmp_path) == 1
    assert "report.json: not as a report is written" in capsys.readouterr().err
    other = NodeKey.create(tmp_path / "other" / "key.pem")
    sign_bundle(out, other, other.public, r["schema"])
    assert verify(day, out, tmp_path) == 1
    assert f"signed by key {other.id}, not {day.key.id}" in capsys.readouterr().err


def test_a_report_of_another_log_is_caught_against_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report that holds together but is not of this audit log fails with --audit-log
    only: made from a copy cut short (the log held records of the period it never read), or
    of another log (its records differ). Records the log gained after the report was made
    are not held against it."""
    node = made_day(tmp_path / "a")
    out = tmp_path / "rep"
    assert report(node, out, until=time.time() + 3600) == 0  # a period not over yet
    assert main(["report", "verify", str(out)]) == 0  # the key it carries: as signed
    node.at(time.time() + 60).event(Kind.DOOR_OPEN, "hall")  # written after the report
    assert verify(node, out, tmp_path) == 0  # the report is of the log as it was then
    short = tmp_path / "short.log"  # a report made from a copy cut short
    short.write_bytes(b"".join(node.cfg.audit_path.read_bytes().splitlines(True)[:12]))
    period = Period(T0, T0 + 8000)
    write_report(node.cfg, node.key, period, tmp_path / "cut", audit_log=short, now=T0 + 9000)
    capsys.readouterr()
    assert verify(node, tmp_path / "cut", tmp_path) == 1
    assert "records seq 13-16 of the period were written before" in capsys.readouterr().err
    other = made_day(tmp_path / "b")  # another node's log of the same day
    assert main(["report", "verify", str(out), "--audit-log", str(other.cfg.audit_path)]) == 1
    assert "differs from" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["edited", "torn"])
def test_a_damaged_audit_log_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """A record altered in the middle of the log, or a last line cut short: no report, exit
    3, the file and line named."""
    node = made_day(tmp_path)
    log = node.cfg.audit_path
    lines = log.read_bytes().splitlines(keepends=True)
    if damage == "edited":
        lines[4] = lines[4].replace(b'"police"', b'"polisi"')
        where, why = 5, "record seq 5 was altered"
    else:
        lines.append(b'{"seq": 24, "act')
        where, why = 24, "the last line is incomplete"
    log.write_bytes(b"".join(lines))
    capsys.readouterr()
    assert report(node, tmp_path / "rep") == 3
    err = capsys.readouterr().err
    assert f"{log}:{where}: {why}" in err and not (tmp_path / "rep").exists()


def test_no_key_or_no_log_no_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The node's signing key missing: exit 3 saying how a node gets one; its audit log
    missing: exit 3 naming it; nothing written either time."""
    node = made_day(tmp_path)
    node.cfg.audit_path.rename(tmp_path / "audit.log")
    capsys.readouterr()
    assert report(node, tmp_path / "rep") == 3
    assert f"{node.cfg.audit_path}: no such audit log" in capsys.readouterr().err
    node.cfg.key_path.unlink()
    assert report(node, tmp_path / "rep") == 3
    err = capsys.readouterr().err
    assert "signing key is missing" in err and f"edge keys init --config {node.data}" in err
    assert not (tmp_path / "rep").exists()


def test_an_unreadable_snapshot_gives_a_grey_canvas(tmp_path: Path) -> None:
    """The hall's latest snapshot is not a JPEG any more: its overlay is drawn on a grey
    canvas of the camera's resolution, the mask still shown."""
    node = made_day(tmp_path)
    node.store.path_for("snap-1.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "rep"
    assert report(node, out) == 0
    hall = loaded(out)["cameras"]["hall"]
    assert hall["overlay_base"] == "canvas"
    png = image(out / hall["overlay"])
    assert png.shape == (360, 640, 3)
    assert tuple(png[300, 600]) == (128, 128, 128)  # outside the mask: the grey canvas
    assert tuple(png[90, 160]) != (128, 128, 128)  # inside it: hatched


@pytest.mark.parametrize(
    ("since", "until", "said"),
    [
        (str(T0 + 10), str(T0), "is not before --until"),
        ("2026-12-08", "2026-12-07", "is not before --until"),
        ("yesterday", str(T0), "neither UNIX seconds nor a date/time"),
    ],
)
def test_a_bad_period_is_a_usage_error(
    day: SharingNode, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    since: str, until: str, said: str,
) -> None:  # fmt: skip
    """--since after --until, or a time not understood: exit 2 naming it, nothing written."""
    capsys.readouterr()
    assert main(["report", "--config", str(day.data / "node.toml"), "--since", since,
                 "--until", until, "--out", str(tmp_path / "rep")]) == 2  # fmt: skip
    assert said in capsys.readouterr().err and not (tmp_path / "rep").exists()


def test_times_without_an_offset_are_wib() -> None:
    """A date or date-time without an offset is read in WIB (UTC+7); seconds and RFC 3339
    as they are."""
    from edge.cli.report import parse_time

    assert parse_time("2026-12-07") == T0
    assert parse_time("2026-12-07T01:00") == T0 + 3600
    assert parse_time("2026-12-06T17:00:00Z") == T0
    assert parse_time(str(T0)) == T0


def test_a_mask_redrawn_in_the_period_shows_both_sides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hall's mask redrawn at 05:00: the change is in the period's history (old and new
    mask hash); at the end the new polygon is drawn; a report ending before the change names
    the old mask but has no polygon for it (the chain never recorded one: null, not a
    guess), and its overlay says so."""
    node = made_day(tmp_path)
    node.at(T0 + 18000).reconfigure(["hall", "gate"], mask="[[0, 0], [640, 0], [640, 90]]")
    node.audit.checkpoint()
    after, before = tmp_path / "after", tmp_path / "before"
    assert report(node, after) == 0 and report(node, before, until=T0 + 17000) == 0
    a, b = loaded(after), loaded(before)
    [change] = [c for c in a["scope_history"] if "camera" in c]
    assert change["camera"] == "hall" and change["audit_seq"] == 24
    assert change["new_polygons"] == [{"name": "kantor kepala gudang",
                                       "points": [[0, 0], [640, 0], [640, 90]]}]  # fmt: skip
    assert change["old"]["masks_sha256"] == b["cameras"]["hall"]["masks_sha256"]
    assert change["new"]["masks_sha256"] == a["cameras"]["hall"]["masks_sha256"]
    assert a["cameras"]["hall"]["masks"][0]["points"] == [[0, 0], [640, 0], [640, 90]]
    assert b["cameras"]["hall"]["masks"] == [{"name": "kantor kepala gudang", "points": None}]
    assert a["cameras"]["hall"]["masks_in_period"] == [
        b["cameras"]["hall"]["masks_sha256"], a["cameras"]["hall"]["masks_sha256"]]  # fmt: skip
    assert "07-12-2026 05:00:00 WIB" in (after / "report.html").read_text()
    capsys.readouterr()
    assert verify(node, after, tmp_path) == 0 and verify(node, before, tmp_path) == 0


@pytest.mark.faults
def test_a_full_disk_leaves_no_half_report(
    day: SharingNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report's disk is full: exit 3 naming the directory, and nothing left there (no
    report under its name, no temporary directory); with room again the same command
    writes it."""
    from faults import fill, small_disk

    with small_disk(tmp_path / "disk", "1m") as disk:
        filler = fill(disk)
        capsys.readouterr()
        assert report(day, disk / "rep") == 3
        assert f"cannot write {disk / 'rep'}" in capsys.readouterr().err
        assert sorted(p.name for p in disk.iterdir()) == [filler.name]
        filler.unlink()
        assert report(day, disk / "rep") == 0
        assert verify(day, disk / "rep", tmp_path) == 0


def test_an_existing_directory_is_not_overwritten(
    day: SharingNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out already there: exit 2, its files untouched; verify of a missing directory:
    exit 2."""
    out = tmp_path / "rep"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    capsys.readouterr()
    assert report(day, out) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert main(["report", "verify", str(tmp_path / "nope")]) == 2


def test_records_an_item_rests_on_before_the_period_are_in_its_chain(
    day: SharingNode, tmp_path: Path
) -> None:
    """A period starting after the person's event but before its clip: the clip keeps the
    event's kind, and chain.jsonl starts at the event's record, so verify makes the same
    items again from it alone."""
    out = tmp_path / "rep"
    assert report(day, out, "--destination", "police", since=T0 + 3630) == 0
    r = loaded(out)
    assert [(i["type"], i["kind"]) for i in r["delivered"]][:1] == [("clip", "person")]
    assert r["chain"]["first_seq"] == 5  # the event's shared record (police)
    assert main(["report", "verify", str(out)]) == 0
