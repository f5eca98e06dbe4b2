"""Issue 26's must-show, end to end: a real node daemon, mosquitto and ``edge receive`` live
through a made day (2026-12-01 WIB, the clock moved, never waited for): the door opens three
times (a masked camera's clip each), officers view an alert, play a clip and download
evidence, retention deletes the oldest clip the next night. Then docs/transparency.md's
commands, run exactly as written: the node's report and the receiver's export verify and
reconcile with nothing missing, the deleted clip listed as deleted, not missing. A forged
extra item put into the receiver's store and an access record removed from its chain are
caught by ``reconcile`` and by ``verify``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dayrig import NODE, SITE, Day, at, day_rig, wait_for

from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "transparency.md"
MARKER = (
    "<!-- the commands below are run by tests/transparency/test_day_e2e.py exactly as written -->"
)
TAMPER = (
    "<!-- the commands below are run after the tampering by tests/transparency/test_day_e2e.py -->"
)


def commands(marker: str) -> list[tuple[str, int, list[str]]]:
    """(command, exit status, lines its output holds) of the ```sh block after *marker*: a
    ``# exit N`` line after a command says its status (otherwise 0), each ``# -> TEXT`` line
    a line of its output."""
    block = DOC.read_text().split(marker, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    out: list[tuple[str, int, list[str]]] = []
    for line in block.splitlines():
        status = re.fullmatch(r"# exit (\d+)", line.strip())
        if status:
            out[-1] = (out[-1][0], int(status[1]), out[-1][2])
        elif line.startswith("# -> "):
            out[-1][2].append(line.removeprefix("# -> "))
        elif line.strip() and not line.lstrip().startswith("#"):
            out.append((line, 0, []))
    return out


def run_block(day: Day, marker: str) -> str:
    """Run the block's commands as written, each exiting and printing as documented; the
    output of the last."""
    printed = ""
    for command, status, shown in commands(marker):
        printed = day.run(command, status)
        for text in shown:
            assert " ".join(text.split()) in " ".join(printed.split()), (command, text, printed)
    return printed


def _the_day(day: Day) -> dict[str, str]:
    """Three door openings at 01:00, 09:00 and 17:00, each clip stored before the clock
    moves on; the officers at 23:00. Returns the ids the test checks."""
    for n, hour in enumerate((1, 9, 17), 1):
        day.clock.set(at(hour))
        day.door()
        wait_for(lambda n=n: len(day.clips()) >= n, 60, f"clip {n} stored", day.tails)  # type: ignore[misc]
    clips = day.clips()
    doors = day.query("SELECT id, clip_id FROM events WHERE kind = 'door_open' AND state ="
                      " 'start' ORDER BY received")  # fmt: skip
    assert len(doors) == 3 and all(c for _, c in doors), doors
    day.clock.set(at(23))
    with day.officer("budi") as c:
        assert c.get(f"/alerts/{SITE}/{NODE}/{doors[1][0]}").status_code == 200
    with day.officer("sari") as c:
        media = f"/media/clip/{SITE}/{NODE}/{clips[1][1]}.mp4"
        for span in ("bytes=0-999", "bytes=1000-"):
            assert c.get(media, headers={"Range": span}).status_code == 206
        assert c.get(f"/evidence/{SITE}/{NODE}/{doors[2][0]}").status_code == 200
    return {"old_clip": clips[0][0], "door_event": str(doors[1][0])}


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_day_reconciles_and_tampering_is_caught(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    engine: str,
    request: pytest.FixtureRequest,
) -> None:
    """See the module docstring; the receiver's store on SQLite and on PostgreSQL."""
    store = "sqlite" if engine == "sqlite" else str(request.getfixturevalue("pg_url"))
    with day_rig(tmp_path, broker, ca, node_cert, store) as day:
        ids = _the_day(day)
        day.clock.set(at(26))
        assert day.node.stop() == 0, day.node.tail()
        out = day.run("edge receive -c receiver.toml retention")
        day.clock.set(at(28.5))
        rows = day.query("SELECT deleted FROM clips WHERE clip_id = ?", ids["old_clip"])
        assert rows and rows[0][0] is not None, (out, rows)
        agreed = run_block(day, MARKER).splitlines()  # edge report reconcile's
        assert agreed[-1] == "agree", agreed
        assert [x.split()[4] for x in agreed if x.startswith("deleted, not missing")] == [
            ids["old_clip"]
        ], agreed
        counts = dict(re.findall(r"(delivered|matched|accesses) (\d+)", agreed[0]))
        assert int(counts["delivered"]) > 3 and counts["accesses"] == "3", agreed[0]
        removed = _tamper(day, ids["door_event"])
        found = run_block(day, TAMPER).splitlines()
        assert found[-1] == "2 finding(s)", found
        assert f"held_not_delivered: event {FORGED}: " in "\n".join(found), found
        assert any(x.startswith("chain: ") and f"jumps from seq {removed - 1} to "
                   f"{removed + 1}" in x for x in found), found  # fmt: skip


FORGED = "01a2507a-0000-7000-8000-00000000f0f0"
"""The id of the event put into the receiver's store (the node never sent it)."""


def _tamper(day: Day, viewed: str) -> int:
    """A door event the node never sent put into the receiver's store at 12:00, and the
    record of budi's view of the alert *viewed* taken out of the receiver's chain; the
    removed record's seq."""
    payload = json.dumps({"id": FORGED, "kind": "door_open", "site": SITE, "node": NODE})
    with day.store.db.transaction() as cur:
        cur.execute("INSERT INTO events (site, node, id, kind, severity, state, time, received,"
                    " payload) VALUES (?, ?, ?, 'door_open', 'warning', 'start', ?, ?, ?)",
                    (SITE, NODE, FORGED, str(at(12)), at(12), payload))  # fmt: skip
    seq = day.query("SELECT seq FROM access_log WHERE item_id = ? AND username = 'budi'", viewed)
    assert len(seq) == 1, seq
    with day.store.db.transaction() as cur:
        cur.execute("DELETE FROM ack_chain WHERE seq = ?", (seq[0][0],))
    return int(seq[0][0])
