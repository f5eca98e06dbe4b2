"""``edge receive list`` and ``show`` as the officer's terminal: --site, --severity, --state,
--unacked and --since 1h/30m/2d filter; unknown sites, nodes and kinds are errors naming the
known ones; ``--node SITE/NODE`` works and a malformed one says the accepted form; ``show``
takes a unique id prefix (several: the candidates; none: says so); human output is in the
display zone with its label, ``--json`` is the stored fields; ``| head -1`` ends quietly.
The filters run on both engines."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge.bench.fleet import SimNode, Wire
from edge.cli.main import main
from edge.receiver.messages import Accepted
from edge.receiver.store.incidents import Ref, Workflow
from edge.receiver.store.store import ReceiverStore
from edge.receiver.trust import Checker, Registry
from edge.wire import topics

PREFIX = "warehouse"
DOOR = "0193a4c2-0000-7000-8000-00000000d001"
SMOKE = "0193a4c2-0000-7000-8000-00000000d002"
PERSON = "0193b111-0000-7000-8000-00000000d003"
MOTION = "0193c222-0000-7000-8000-00000000d004"
OLD = "0193d333-0000-7000-8000-00000000d005"


def _event(node: SimNode, event_id: str, kind: str, severity: str) -> Wire:
    """A signed START event of *node* with the id *event_id*."""
    body: dict[str, Any] = {
        "schema": "warehouse-edge/event/1", "id": event_id, "kind": kind, "severity": severity,
        "state": "start", "occurrence": event_id, "incident": None, "node": node.node,
        "site": node.site, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "clock_synced": True, "camera": "gudang-1", "sensor": None, "zones": ["lorong"],
        "data": {},
    }  # fmt: skip
    payload = json.dumps(body, separators=(",", ":")).encode()
    return node._wire(topics.EVENTS, event_id, payload, ("kind", kind))


def _fill(store: ReceiverStore, data: Path) -> None:
    """Two nodes: semarang/gudang-07 (a door alarm, acknowledged; a smoke critical; a
    motion; a person alarm of three days ago) and solo/gudang-09 (a person alarm)."""
    a, b = SimNode("semarang", "gudang-07"), SimNode("solo", "gudang-09")
    for n in (a, b):
        store.enrol(n.site, n.node, n.key.pem)
    checker = Checker(Registry(store.identities()), PREFIX, max_clip_bytes=1 << 20)
    wires = [(a, _event(a, OLD, "person", "alarm")), (a, _event(a, DOOR, "door_open", "alarm")),
             (a, _event(a, SMOKE, "smoke", "critical")), (b, _event(b, PERSON, "person", "alarm")),
             (a, _event(a, MOTION, "motion", "info"))]  # fmt: skip
    for node, (topic, payload, props) in wires:
        v = checker.check(f"{PREFIX}/{node.site}/{node.node}/{topic}", payload, dict(props))
        assert isinstance(v, Accepted), v
        store.commit([v])
    with store.db.transaction() as cur:  # received three days ago
        cur.execute("UPDATE events SET received = ? WHERE id = ?", (time.time() - 3 * 86400, OLD))
    Workflow(store.db, data, "polda-test").acknowledge([Ref("semarang", DOOR)], "budi")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def conf(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """A receiver config whose store (each engine) holds the module's events."""
    tmp = tmp_path_factory.mktemp("cli")
    data = tmp / "rx"
    url, pg = "sqlite", None
    if request.param == "postgresql":  # one database for the module (pg_url is per test)
        pg = request.getfixturevalue("pg_server")
        url = pg.new_database(f"cli_console_{tmp.name}".replace("-", "_")[:50])
    path = tmp / "receiver.toml"
    path.write_text(f'[receiver]\nname = "polda-test"\ndata_dir = "{data}"\nstore = "{url}"\n'
                    '[broker]\nhost = "localhost"\nallow_insecure = true\n')  # fmt: skip
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}" if pg is None else url, data)
    _fill(store, data)
    store.close()
    yield path
    if pg is not None and pg.pid is not None:
        pg.drop_database(url.rsplit("/", 1)[1])


def run(conf: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``edge receive -c CONF ARGS``: exit status, stdout, stderr."""
    capsys.readouterr()
    try:
        code = main(["receive", "-c", str(conf), *args])
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def ids(conf: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """The ids ``list --json ARGS`` prints, newest first."""
    code, out, err = run(conf, capsys, "list", "--json", *args)
    assert code == 0, err
    return [e["id"] for e in json.loads(out)]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), [MOTION, PERSON, SMOKE, DOOR, OLD]),
        (("--site", "solo"), [PERSON]),
        (("--node", "semarang/gudang-07", "--severity", "alarm"), [DOOR, OLD]),
        (("--node", "gudang-09"), [PERSON]),
        (("--severity", "critical"), [SMOKE]),
        (("--state", "acknowledged"), [DOOR]),
        (("--state", "open", "--severity", "alarm"), [PERSON, DOOR, OLD]),
        (("--unacked", "--severity", "alarm"), [PERSON, OLD]),
        (("--since", "1h"), [MOTION, PERSON, SMOKE, DOOR]),
        (("--since", "30m", "--kind", "person"), [PERSON]),
        (("--since", "4d", "--kind", "person"), [PERSON, OLD]),
        (("--since", "90"), [MOTION, PERSON, SMOKE, DOOR]),
        (("--limit", "2"), [MOTION, PERSON]),
    ],
)
def test_list_filters(
    conf: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: list[str]
) -> None:
    """Each filter, alone and combined, lists exactly the matching events, newest first."""
    assert ids(conf, capsys, *args) == expected


def test_json_keeps_the_stored_fields(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--json`` prints the stored fields as before (no added keys, UNIX receipt times)."""
    code, out, _ = run(conf, capsys, "list", "--json", "--limit", "1")
    assert code == 0
    (event,) = json.loads(out)
    assert set(event) == {"seq", "site", "node", "id", "kind", "severity", "state", "camera",
                          "sensor", "incident", "clip_id", "snapshot_id", "time",
                          "received"}  # fmt: skip
    assert isinstance(event["received"], float)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--kind", "doorr"), ["unknown kind 'doorr'", "did you mean 'door_open'", "smoke"]),
        (("--node", "gudang-99"), ["unknown node 'gudang-99'", "semarang/gudang-07",
                                   "solo/gudang-09"]),
        (("--node", "solo/gudang-07"), ["unknown node 'solo/gudang-07'", "solo/gudang-09"]),
        (("--node", "a/b/c"), ["'a/b/c'", "NODE or SITE/NODE"]),
        (("--node", "/gudang-07"), ["NODE or SITE/NODE"]),
        (("--site", "semarng"), ["unknown site 'semarng'", "did you mean 'semarang'", "solo"]),
        (("--site", "solo", "--node", "semarang/gudang-07"), ["name different sites"]),
        (("--since", "1x"), ["'1x' is not a duration", "30m, 1h, 2d"]),
        (("--since=-2h",), ["not a duration"]),
        (("--severity", "loud"), ["invalid choice: 'loud'", "critical"]),
        (("--unacked", "--state", "closed"), ["--unacked", "exclude each other"]),
        (("--limit", "0"), ["--limit 0: at least 1"]),
        (("--state", "asleep"), ["invalid choice: 'asleep'", "in_progress"]),
    ],
)  # fmt: skip
def test_bad_filters_are_errors_naming_the_known(
    conf: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], words: list[str]
) -> None:
    """A filter naming nothing known exits 2 with one message naming the known ones (or
    the accepted form), never an empty list."""
    code, out, err = run(conf, capsys, "list", *args)
    assert code == 2 and out == ""
    for w in words:
        assert w in err, err
    assert "Traceback" not in err


def test_human_output_is_in_the_display_zone(
    conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The human list shows receipt times in Asia/Jakarta with WIB and the incident's
    status, whatever the shell's TZ."""
    _, out, _ = run(conf, capsys, "list", "--json", "--site", "solo")
    received = json.loads(out)[0]["received"]
    local = datetime.fromtimestamp(received, UTC).astimezone(ZoneInfo("Asia/Jakarta"))
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        _, out, _ = run(conf, capsys, "list", "--site", "solo")
    finally:
        os.environ.pop("TZ") if old_tz is None else os.environ.update(TZ=old_tz)
        time.tzset()
    header, row = out.splitlines()
    assert header.split("\t")[:7] == ["received", "site", "node", "kind", "severity", "state",
                                      "status"]  # fmt: skip
    cells = row.split("\t")
    assert cells[0] == f"{local:%d-%m-%Y %H:%M:%S} WIB" and cells[6] == "new"
    assert cells[-2] == PERSON and cells[-1] == "solo / gudang-09"  # no [sites]: the ids


def test_nodes_show_names_and_times_in_the_zone(
    conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``nodes`` adds the last message's time in WIB and the names (ids when unnamed);
    ``--json`` stays the stored fields."""
    code, out, _ = run(conf, capsys, "nodes")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split("\t")[-3:] == ["last_seen", "offline_since", "name"]
    assert len(rows) == 2 and rows[0].endswith("\tsemarang / gudang-07")
    code, out, _ = run(conf, capsys, "nodes", "--json")
    assert "name" not in json.loads(out)[0]


def test_show_by_prefix(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A unique prefix shows the event (WIB times, incident status, no file paths); a
    shared prefix lists the candidates (exit 1); none says so; the full id works."""
    code, out, err = run(conf, capsys, "show", "0193b1")
    assert code == 0, err
    assert f"event     {PERSON}" in out and "solo/gudang-09" in out and " WIB" in out
    assert "incident" in out and "new" in out and "/rx/" not in out
    code, out, err = run(conf, capsys, "show", "0193a4c2")
    assert code == 1 and out == ""
    assert "starts several event ids" in err and DOOR in err and SMOKE in err
    code, _, err = run(conf, capsys, "show", "ffff")
    assert code == 1 and "no event with an id starting 'ffff'" in err
    code, out, _ = run(conf, capsys, "show", DOOR, "--json")
    assert code == 0 and json.loads(out)["id"] == DOOR
    code, out, _ = run(conf, capsys, "show", DOOR)
    assert code == 0 and "acknowledged by budi" in out
    code, _, err = run(conf, capsys, "show", "0193", "--node", "gudang-09")
    assert code == 1 and "SITE/NODE" in err


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``edge receive list | head -1`` (more output than a pipe holds): the first line
    arrives, edge exits 0 without a traceback."""
    data = tmp_path / "rx"
    conf = tmp_path / "receiver.toml"
    conf.write_text(f'[receiver]\nname = "polda-test"\ndata_dir = "{data}"\n'
                    '[broker]\nhost = "localhost"\nallow_insecure = true\n')  # fmt: skip
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    try:
        _bulk(store, 3000)
    finally:
        store.close()
    edge = Path(sys.executable).parent / "edge"
    for action in ("list --limit 3000",):
        done = subprocess.run(
            ["bash", "-c", f"{edge} receive -c {conf} {action} | head -1; "
             "echo status ${PIPESTATUS[0]} >&2"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.stdout.count("\n") == 1, done.stdout[:300]
        assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
        assert "status 0" in done.stderr, done.stderr


def _bulk(store: ReceiverStore, n: int) -> None:
    """*n* motion events of semarang/gudang-07 (straight SQL: enough output to fill a pipe),
    older than every other event."""
    now = time.time() - 86400 * 5
    payload = json.dumps({"kind": "motion"})
    rows = [("semarang", "gudang-07", f"bulk-{i:06d}", "motion", "info", "instant", "gudang-1",
             "2026-01-01T00:00:00Z", now + i, payload) for i in range(n)]  # fmt: skip
    with store.db.transaction() as cur:
        cur.executemany(
            "INSERT INTO events (site, node, id, kind, severity, state, camera, time, received,"
            " payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


DOC = Path(__file__).resolve().parents[2] / "docs" / "receiver.md"
MARKER = "<!-- the commands below are run by tests/receiver/test_receive_cli_console.py exactly as written -->"  # noqa: E501
DOC_SITE, DOC_NODE = "semarang-gudang-utara", "gudang-kpu-semarang-01"


def doc_commands() -> list[tuple[str, int, str]]:
    """(command, exit status, what stderr says) of each line of the documented block; a
    comment ``# exit N: TEXT`` gives a failing one."""
    block = DOC.read_text().split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    out = []
    for line in block.splitlines():
        if not line.strip() or line.startswith("R="):
            continue
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        status, said = 0, ""
        if comment.startswith("exit "):
            code, said = comment.removeprefix("exit ").split(": ", 1)
            status, said = int(code), said.split("; known:", 1)[0]
        out.append((line, status, said))
    return out


def test_the_documented_commands_run_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/receiver.md's "Looking through it" commands, each run as written (its words as
    the shell splits them, ``$R`` being this test's ``edge receive -c CONFIG``; the real
    ``edge`` process is the closed-pipe test's): each exits as documented; the lists find
    the node's person alarm, ``show`` finds the event by its prefix, the bad kind is named."""
    data = tmp_path / "rx"
    conf = tmp_path / "receiver.toml"
    conf.write_text(f'[receiver]\nname = "polda-docs"\ndata_dir = "{data}"\n'
                    '[broker]\nhost = "localhost"\nallow_insecure = true\n')  # fmt: skip
    node = SimNode(DOC_SITE, DOC_NODE)
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    try:
        store.enrol(node.site, node.node, node.key.pem)
        checker = Checker(Registry(store.identities()), PREFIX, max_clip_bytes=1 << 20)
        topic, payload, props = _event(node, DOOR, "person", "alarm")
        verdict = checker.check(f"{PREFIX}/{DOC_SITE}/{DOC_NODE}/{topic}", payload, dict(props))
        store.commit([verdict])
    finally:
        store.close()
    commands = doc_commands()
    assert len(commands) == 9, commands
    for command, status, said in commands:  # in-process: the same argv bash would pass
        words = shlex.split(command, comments=True)
        assert words[0] == "$R", command
        capsys.readouterr()
        try:
            code = main(["receive", "-c", str(conf), *words[1:]])
        except SystemExit as e:
            code = int(e.code or 0)
        out, err = capsys.readouterr()
        assert code == status, (command, err)
        assert said in err, (command, err)
        if words[1] == "list" and status == 0:
            assert DOOR in out and " WIB\t" in out, (command, out)
        if words[1] == "show":
            assert DOOR in out and "verified" in out, out
