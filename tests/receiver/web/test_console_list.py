"""The alarm console's list (``/alerts``) through a test client, on both engines: incidents
as the unit with their occurrences (duration or open, readable names, display time), info
and motion hidden by default, the filters, the live list's pages after a seq reaching every
one of 1,000 new incidents, and the bulk acknowledgement's wiring (the page's button, the
POST, the list and the counts after it)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from dash import (
    Fleet,
    add_user,
    both_engines_store,  # noqa: F401 (the store fixture)
    client_for,
    event_wire,
    jpeg,
    login,
    officer_client,  # noqa: F401 (the officer fixture)
    web_config,
)
from starlette.testclient import TestClient

from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import i18n
from edge.receiver.web.words import duration, kindname

T0 = 1_796_600_000  # 2026-12-06 23:33:20 UTC = 2026-12-07 06:33:20 WIB


def iso(t: float) -> str:
    """A UNIX time as the node writes it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def incidents(html: str) -> list[str]:
    """The incidents of a page or fragment, in order."""
    return re.findall(r'<tbody class="incident[^"]*"[^>]*data-incident="([^"]+)"', html)


def tbody(html: str, incident: str) -> str:
    """One incident's tbody."""
    match = re.search(rf'<tbody class="incident[^>]*data-incident="{re.escape(incident)}".*?</tbody>', html, re.S)  # fmt: skip  # noqa: E501
    assert match, html[:2000]
    return match[0]


def scene(f: Fleet) -> dict[str, str]:
    """A door opened at T0 and closed 125 s later with a person seen meanwhile (one
    incident), a motion (info), a smoke alarm, and a warning on another node."""
    ids = {}
    door = f.event("door_open", camera=None, sensor="pintu-1", incident="inc-1", time=iso(T0))
    ids["door"] = door
    ids["person"] = f.event("person", incident="inc-1", time=iso(T0 + 20),
                            snapshot_id=f.snapshot(jpeg()))  # fmt: skip
    f.event("door_open", camera=None, sensor="pintu-1", incident="inc-1", state="end",
            occurrence=door, time=iso(T0 + 125))  # fmt: skip
    ids["motion"] = f.event("motion", severity="info", incident="inc-2", time=iso(T0 + 130))
    ids["smoke"] = f.event("smoke", severity="critical", incident="inc-3", camera=None,
                           sensor="asap-1", time=iso(T0 + 140))  # fmt: skip
    other = Fleet(f.store, node=type(f.node)("solo", "gudang-02"))
    ids["warning"] = other.event("camera_fault", severity="warning", incident="inc-4",
                                 time=iso(T0 + 150))  # fmt: skip
    return ids


def test_incidents_group_their_occurrences_newest_first_info_and_motion_hidden(
    officer: TestClient, store: ReceiverStore
) -> None:
    """One tbody per incident, newest first; the door's START and END are one row with its
    duration, the person's still open; names readable, time in WIB, the snapshot thumbnail;
    smoke shown as critical; the motion only with "show info and motion"."""
    ids = scene(Fleet(store))
    page = officer.get("/alerts").text
    assert '<html lang="id"' in page
    assert incidents(page) == ["inc-4", "inc-3", "inc-1"]
    door = tbody(page, "inc-1")
    rows = re.findall(r'<tr class="occ[^>]*data-kind="([^"]+)"', door)
    assert rows == ["door_open", "person"]
    with i18n.use("id"):
        assert kindname("door_open") in door and duration(125) in door
        assert f'<span class="open">{i18n.gettext("open")}</span>' in door
    assert "07-12-2026 06:33:20 WIB" in door and "pintu-1" in door
    assert re.search(r'<img class="thumb"[^>]*src="/media/snapshot/semarang/gudang-07/', door)
    assert 'data-status="new"' in door and f'data-event="{ids["person"]}"' in door
    smoke = tbody(page, "inc-3")
    assert 'data-level="critical"' in smoke and "level-critical" in smoke
    assert "inc-2" not in page and ids["motion"] not in page
    everything = officer.get("/alerts?all=1").text
    assert incidents(everything) == ["inc-4", "inc-3", "inc-2", "inc-1"]
    assert incidents(officer.get("/alerts?kind=motion").text) == ["inc-2"]
    listed = officer.get("/api/incidents").json()
    assert [i["incident"] for i in listed] == ["inc-4", "inc-3", "inc-1"]
    assert listed[2]["key"] == "semarang/inc-1" and len(listed[2]["occurrences"]) == 2
    events = officer.get("/api/alerts").json()  # the per-event list stays as it was
    assert len(events) == 6 and events[0]["id"] == ids["warning"]


def test_each_filter_narrows_the_console_and_a_wrong_value_is_named(
    officer: TestClient, store: ReceiverStore
) -> None:
    """Site, node, kind, severity, status, unacknowledged only: each narrows the list and is
    kept in the older/live links; an unknown severity or status answers 400 naming it."""
    scene(Fleet(store))
    for query, expected in (
        ("site=solo", ["inc-4"]),
        ("node=gudang-07", ["inc-3", "inc-1"]),
        ("node=solo%2Fgudang-02", ["inc-4"]),
        ("kind=person", ["inc-1"]),
        ("severity=critical", ["inc-3"]),
        ("severity=warning", ["inc-4"]),
        ("status=new", ["inc-4", "inc-3", "inc-1"]),
        ("status=closed", []),
        ("unacked=1&site=semarang", ["inc-3", "inc-1"]),
    ):
        page = officer.get(f"/alerts?{query}").text
        assert incidents(page) == expected, query
        kept = re.search(r'data-query="([^"]*)"', page)
        wanted = set(query.replace("node=solo%2F", "site=solo&node=").split("&"))
        assert kept and set(kept[1].split("&amp;")) == wanted, (query, kept)
    for query, named in (("severity=loud", "severity"), ("status=done", "status"),
                         ("after_seq=x", "after_seq"),
                         ("site=solo&node=semarang/x", "node")):  # fmt: skip
        r = officer.get(f"/alerts/rows?{query}")
        assert r.status_code == 400 and named in r.text, (query, r.text)


def test_the_console_page_carries_the_hooks_the_script_uses(
    officer: TestClient, store: ReceiverStore
) -> None:
    """The elements and data the live list, the sound, the banner and the wall mode use:
    the title and banner count the unacknowledged alarms; the strings the script shows are
    rendered in the page's language; the theme cookie sets the theme."""
    scene(Fleet(store))
    page = officer.get("/alerts").text
    for element in ('id="console"', 'id="new-count"', 'id="enable-sound"', 'id="mute"',
                    'id="ack-selected"', 'id="unacked-banner"', 'id="notlive"',
                    'id="session-warning"', 'id="live"', 'src="/static/app.js"',
                    'src="/static/wall.js"'):  # fmt: skip
        assert element in page, element
    assert re.search(r"<title>\(2\) ", page)  # the smoke and the door/person, not the warning
    root = re.search(r'<div id="console"[^>]*>', page)
    assert root and 'data-unacked="2"' in root[0] and 'data-ack-url="/incidents/ack"' in root[0]
    assert 'data-live="on"' in root[0] and 'data-user="budi"' in root[0]
    strings = re.search(r'<script type="application/json" id="strings">(.*?)</script>', page)
    assert strings
    words = json.loads(strings[1])
    with i18n.use("id"):
        assert words["new_count"] == i18n.gettext("{n} new")
    needed = {"new_count", "live", "reconnecting", "mute", "unmute", "alarm", "critical"}
    assert needed <= set(words)
    officer.cookies.set("edge_theme", "dark")
    assert '<html lang="id" data-theme="dark">' in officer.get("/alerts").text
    officer.cookies.set("edge_theme", '"><script>')
    assert '<html lang="id">' in officer.get("/alerts").text
    older = officer.get("/alerts?before_seq=4").text
    assert 'data-live="off"' in older and incidents(older) == ["inc-1"]
    newest = re.search(r'data-newest="(\d+)"', page)
    assert newest and f'data-alarm-seq="{newest[1]}"' in older  # alarms: only new ones sound


def test_acknowledging_from_the_list_posts_the_picked_incidents(
    officer: TestClient, store: ReceiverStore
) -> None:
    """What the page's "acknowledge selected" sends (the picked boxes' values as ``items``
    with the page's CSRF token, asking for JSON) acknowledges them: the answer names them,
    the list shows who, their boxes and buttons are gone, the counts drop."""
    scene(Fleet(store))
    page = officer.get("/alerts").text
    picks = re.findall(r'<input type="checkbox" class="pick" value="([^"]+)"', page)
    assert picks == ["solo/inc-4", "semarang/inc-3", "semarang/inc-1"]
    root = re.search(r'<div id="console"[^>]*data-csrf="([^"]+)"[^>]*data-ack-url="([^"]+)"', page)
    assert root
    r = officer.post(root[2], data={"csrf": root[1], "items": picks[1:]},
                     headers={"accept": "application/json"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert sorted(r.json()["acknowledged"]) == ["semarang/inc-1", "semarang/inc-3"]
    after = officer.get("/alerts").text
    for incident in ("inc-1", "inc-3"):
        body = tbody(after, incident)
        assert 'data-status="acknowledged"' in body and "budi" in body
        assert "ack-one" not in body and re.search(r'class="pick"[^>]*disabled', body)
    assert 'class="ack-one"' in tbody(after, "inc-4")
    assert "<title>(" not in after and re.search(r'id="unacked-banner"[^>]*hidden', after)
    state = officer.get("/api/console/state").json()
    assert state["unacked_total"] == 0 and state["unacked"]["warning"] == 1
    assert incidents(officer.get("/alerts?unacked=1").text) == ["inc-4"]


def test_a_viewer_sees_the_console_without_acknowledging(
    tmp_path: Path, store: ReceiverStore
) -> None:
    """A viewer gets the same incidents, with no boxes or acknowledge buttons (the POST
    would be refused anyway)."""
    scene(Fleet(store))
    add_user(store, "tamu", "viewer")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        assert login(c, "tamu").status_code == 303
        page = c.get("/alerts").text
        rows = c.get("/alerts/rows?after_seq=0").text
    assert incidents(page) == ["inc-4", "inc-3", "inc-1"] == incidents(rows)
    for html in (page, rows):
        assert 'class="pick"' not in html and 'class="ack-one"' not in html
    assert re.search(r'<div class="bulk" hidden>', page)


def test_the_live_list_reaches_every_one_of_a_thousand_new_incidents(
    officer: TestClient, store: ReceiverStore
) -> None:
    """1,000 incidents after the page's newest seq: the state counts them pending, and the
    rows fragment pages through all of them as the page's script does (``after_seq`` = the
    page's newest, while ``X-Edge-More`` says 1): each exactly once, 20 pages of 50; an
    incident that changes afterwards comes again, once."""
    f = Fleet(store)
    start = officer.get("/alerts").text
    newest = int(re.search(r'data-newest="(\d+)"', start)[1])  # type: ignore[index]
    wires = [event_wire(f.node, "person", incident=f"burst-{i:04d}") for i in range(1000)]
    for i in range(0, 1000, 250):
        f.commit([w for _, w in wires[i : i + 250]])
    assert officer.get(f"/api/console/state?after_seq={newest}").json()["pending"] == 1000
    seen: list[str] = []
    pages = []
    more = True
    while more:
        r = officer.get(f"/alerts/rows?after_seq={newest}")
        got = incidents(r.text)
        pages.append(len(got))
        seen += got
        more = r.headers["x-edge-more"] == "1"
        assert int(r.headers["x-edge-newest"]) > newest and len(pages) <= 21
        newest = int(r.headers["x-edge-newest"])
    assert pages == [50] * 20 and len(seen) == len(set(seen)) == 1000
    assert set(seen) == {f"burst-{i:04d}" for i in range(1000)}
    r = officer.get(f"/alerts/rows?after_seq={newest}")
    assert incidents(r.text) == [] and r.headers["x-edge-more"] == "0"
    f.event("door_open", incident="burst-0007")
    again = officer.get(f"/alerts/rows?after_seq={newest}")
    assert incidents(again.text) == ["burst-0007"] and again.headers["x-edge-more"] == "0"


def test_the_state_names_alarms_that_began_whatever_the_filters(
    officer: TestClient, store: ReceiverStore
) -> None:
    """``alarms_after``: the unacknowledged incidents where an alarm or critical began after
    the seq, named in the page's language with their level, whatever the filters; a warning
    is not one; an END of an alarm already heard does not name it again."""
    f = Fleet(store)
    scene(f)
    after = officer.get("/api/console/state").json()["newest"]
    f.event("person", incident="inc-9", time=iso(T0 + 200))
    f.event("camera_fault", severity="warning", incident="inc-10")
    f.event("camera_tampered", severity="alarm", incident="inc-11")
    state = officer.get(f"/api/console/state?site=solo&alarms_after={after}").json()
    with i18n.use("id"):
        person = f"{kindname('person')} · semarang"
    named = {a["key"]: (a["level"], a["title"]) for a in state["alarms"]}
    assert named["semarang/inc-9"] == ("alarm", person) and state["alarm_count"] == 2
    assert named["semarang/inc-11"][0] == "critical" and len(named) == 2
    english = officer.get(f"/api/console/state?alarms_after={after}&lang=en").json()
    with i18n.use("en"):
        assert f"{kindname('person')} · semarang" in [a["title"] for a in english["alarms"]]
    heard = officer.get("/api/console/state").json()["newest"]
    occurrence = store.db.query("SELECT occurrence FROM occurrences WHERE incident = 'inc-9'")
    f.event("person", incident="inc-9", state="end", occurrence=occurrence[0][0])
    assert officer.get(f"/api/console/state?alarms_after={heard}").json()["alarms"] == []
