"""The alarm console as an officer on night duty uses it, in Debian's Chromium (Selenium) on a
real ``edge receive --http`` fed by a real node daemon (door, tamper and smoke inputs on mock
pins) and a simulated fleet of 50 warehouses (officer.py). One receiver, one broker session
and one browser serve the whole module (the xdist scheduler keeps it on one worker).

Shown: a new alarm and a smoke alarm each sound and notify within 1 s of the receiver's
commit, the title counts the unacknowledged and the banner stands until they are
acknowledged; a burst of 1,000 events is entirely reachable from the open page; an incident
goes new -> acknowledged -> in progress -> commented -> closed by two officers in two
browsers, each step in the signed audit chain in order; the fleet board; the phone layout;
both languages; the page stays live across a receiver restart and past its session's first
lifetime. Screenshots in Bahasa Indonesia go to ``$EDGE_TEST_ARTIFACTS/console/``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator

import pytest
from officer import (
    CONSOLE,
    DEGRADED,
    NODE,
    OFFLINE,
    OFFLINE_AFTER_S,
    SESSION_S,
    SILENT,
    SITE,
    SMOKE,
    WAREHOUSES,
    WARNINGS,
    Rig,
    console_rig,
    shown,
    wait_for,
)
from officer_pages import (
    acknowledge_in_list,
    act,
    banner_stands,
    fits_width,
    incident_of,
    incident_path,
    lang_of,
    night,
    on_page,
    open_console,
    phone,
    shot,
    signal_after,
    text_of,
    title_count,
    unacked_in_store,
    visit,
)
from selenium.webdriver.common.by import By

from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.receiver.ackaudit.verify import verify_chain

pytestmark = pytest.mark.slow

SIGNAL_BOUND_S = 1.0
"""From the receiver's commit to the page's sound and Notification."""
BURST = 1000
BURST_BOUND_S = 10.0
"""The burst is committed within this (the issue's "1,000 events in 10 s")."""
REPORT_NO = "LP/B/123/XII/2026/Jateng"
RINGING = "return window.edgeConsoleApp.siren.ringing();"
"""Is the page's repeating sound on?"""


@pytest.fixture(scope="module")
def rig(
    tmp_path_factory: pytest.TempPathFactory, broker: LocalBroker, ca: DemoCA, node_cert: CertPair
) -> Iterator[Rig]:
    """The module's receiver, node daemon, fleet and browser, budi logged in."""
    with console_rig(tmp_path_factory.mktemp("console"), broker, ca, node_cert) as r:
        r.login(r.browser, "budi")
        yield r


def alarm_from_the_fleet(rig: Rig) -> tuple[str, str, str]:
    """A person on a simulated warehouse's camera (an alarm): (site, node, kind)."""
    sim = rig.fleet[SILENT + 1]
    rig.publish([(sim, rig.sim_event(sim, "person", "alarm")[1])])
    return sim.site, sim.node, "person"


def smoke_at_the_real_node(rig: Rig) -> tuple[str, str, str]:
    """The real node daemon's smoke detector trips (critical): (site, node, kind)."""
    rig.node.smoke()
    return SITE, NODE, "smoke"


@pytest.mark.parametrize(
    ("trip", "level"), [(alarm_from_the_fleet, "alarm"), (smoke_at_the_real_node, "critical")]
)
def test_a_new_alarm_and_a_smoke_sound_and_notify_within_a_second_and_stand_until_acked(
    rig: Rig, trip: Callable[[Rig], tuple[str, str, str]], level: str
) -> None:
    """A person at a simulated warehouse (alarm), or the real node daemon's smoke detector
    (critical): the open console sounds (at that level) and raises a Notification within
    1 s of the receiver's commit (the page's hooks against events.received: one machine
    clock); the title counts the unacknowledged; the banner stands and the sound repeats
    until the officer acknowledges from the list."""
    b = open_console(rig)
    seq = rig.newest_seq()
    since = time.time() * 1000
    site, node, kind = trip(rig)
    event_id, received = rig.committed(site, node, kind, seq)
    sound, note = signal_after(b, level, since)
    delays = (sound["at"] / 1000 - received, note["at"] / 1000 - received)
    print(f"{kind}: commit -> sound {delays[0] * 1000:.0f} ms, -> Notification "
          f"{delays[1] * 1000:.0f} ms ({note['title']}: {note['body']})")  # fmt: skip
    assert all(-0.05 <= d < SIGNAL_BOUND_S for d in delays), (delays, sound, note)
    assert note["shown"] is True, note
    wait_for(lambda: title_count(b) == unacked_in_store(rig) > 0, 5, "the title's count")
    incident = incident_of(rig, event_id)
    banner_stands(b, 2.5)
    if kind == "smoke":
        shot(b, "console-alarm.png")
        night(b, True)
        shot(b, "dark.png")
        night(b, False)
    assert b.execute_script(RINGING), "the sound does not repeat until acknowledged"
    acknowledge_in_list(b, site, incident)
    sql = "SELECT status, acked_by FROM incidents WHERE site = ? AND incident = ?"
    wait_for(lambda: rig.query(sql, site, incident) == [("acknowledged", "budi")], 10,
             "the incident acknowledged by budi")  # fmt: skip
    if unacked_in_store(rig) == 0:
        wait_for(lambda: not shown(b, "#unacked-banner"), 10, "the banner gone once acked")
        wait_for(lambda: title_count(b) == 0, 10, "the title without a count")
        wait_for(lambda: not b.execute_script(RINGING), 10, "the sound stopped once acked")
    if kind == "smoke":
        rig.node.drive(SMOKE, False)


def test_a_burst_of_a_thousand_events_is_entirely_reachable_from_the_open_page(
    rig: Rig,
) -> None:
    """1,000 warnings from the fleet, committed within 10 s, while the officer reads further
    down the open console: the page says "N baru" (at least 1,000), and one click on it
    brings every one of them onto the page, as many as the store holds."""
    b = open_console(rig)
    b.execute_script("window.scrollTo(0, 800);")
    sims = rig.fleet[SILENT:]
    pairs = [(sims[i % len(sims)], rig.sim_event(sims[i % len(sims)], WARNINGS[i % 4], "warning"))
             for i in range(BURST)]  # fmt: skip
    ids = [event_id for _, (event_id, _) in pairs]
    rig.publish([(sim, wire) for sim, (_, wire) in pairs])
    marks = ",".join("?" * len(ids))
    wait_for(lambda: rig.scalar(f"SELECT COUNT(*) FROM events WHERE id IN ({marks})", *ids)
             == BURST, 60, "the burst stored")  # fmt: skip
    first, last = rig.query(
        f"SELECT MIN(received), MAX(received) FROM events WHERE id IN ({marks})", *ids
    )[0]
    print(f"burst: {BURST} events committed in {last - first:.2f} s")
    assert last - first < BURST_BOUND_S
    sql = f"SELECT COUNT(DISTINCT incident) FROM occurrences WHERE first_event IN ({marks})"
    assert rig.scalar(sql, *ids) == BURST
    new = b.find_element(By.ID, "new-count")

    def said() -> int:
        digits = (
            re.findall(r"\d+", new.text.replace(".", "").replace(",", ""))
            if new.is_displayed()
            else []
        )
        return int(digits[0]) if digits else 0

    wait_for(lambda: said() >= BURST, 15, f'"N baru" counting all {BURST}')
    counted = said()
    started = time.monotonic()
    new.click()
    wait_for(lambda: len(set(ids) & on_page(b)) == BURST, 60, f"all {BURST} on the page", 0.5)
    print(f"burst: '{counted} baru' clicked; all {BURST} on the page "
          f"{time.monotonic() - started:.1f} s later")  # fmt: skip


def test_an_incident_goes_new_to_closed_by_two_officers_with_its_audit_records(
    rig: Rig,
) -> None:
    """budi opens a new alarm from the console, acknowledges it and assigns it to sari; sari,
    in her own browser, comments and closes it (police report, its number). The incident
    page shows the history; the store holds the notes in order, each with its record in
    the receiver's signed audit chain, and the whole chain verifies."""
    sim = rig.fleet[SILENT + 2]
    event_id, wire = rig.sim_event(sim, "person", "alarm", state="start")
    rig.publish([(sim, wire)])
    incident = incident_of(rig, event_id)
    b = open_console(rig)
    link = f'tbody.incident[data-incident="{incident}"] a.open-incident'
    wait_for(lambda: b.find_elements(By.CSS_SELECTOR, link), 10, "the incident in the list")
    b.find_element(By.CSS_SELECTOR, link).click()
    wait_for(lambda: b.find_elements(By.ID, "workflow"), 10, "the incident page")
    act(b, "wf-ack", "wf-acknowledge", note="dilihat di kamera")
    act(b, "wf-assign", "wf-assign-to", assignee="sari")
    sari = rig.new_browser()
    rig.login(sari, "sari", incident_path(sim.site, incident))
    act(sari, "wf-comment", "wf-add-comment", text="Patroli menuju lokasi")
    act(sari, "wf-close", "wf-close-button", outcome="police_report", report_no=REPORT_NO,
        note="pelaku diamankan")  # fmt: skip
    shot(sari, "incident.png")
    history = sari.execute_script(
        "return Array.from(document.querySelectorAll('#notes li'))"
        ".map(li => [li.dataset.action, li.dataset.user]);"
    )
    steps = [["acknowledge", "budi"], ["assign", "budi"], ["comment", "sari"], ["close", "sari"]]
    assert history == steps
    row = rig.query("SELECT status, acked_by, assignee, closed_by, outcome, report_no FROM"
                    " incidents WHERE site = ? AND incident = ?", sim.site, incident)  # fmt: skip
    assert row == [("closed", "budi", "sari", "sari", "police_report", REPORT_NO)]
    notes = rig.query("SELECT action, username, audit_hash FROM incident_notes WHERE"
                      " site = ? AND incident = ? ORDER BY seq", sim.site, incident)  # fmt: skip
    assert [[a, u] for a, u, _ in notes] == steps
    chain = [rig.query("SELECT seq, record FROM ack_chain WHERE hash = ?", h) for _, _, h in notes]
    assert all(len(c) == 1 for c in chain), chain
    seqs = [int(c[0][0]) for c in chain]
    assert seqs == sorted(seqs)
    records = [json.loads(c[0][1]) for c in chain]
    assert [(r["kind"], r["action"], r["id"]) for r in records] == [
        ("incident", a, incident) for a, _ in steps
    ]
    check = verify_chain(rig.store.db, rig.data)
    assert check.ok, check.problems


@pytest.mark.parametrize("page", ["console", "incident", "fleet"])
def test_the_phone_layout_has_no_horizontal_scroll(rig: Rig, page: str) -> None:
    """At 390x844 (a phone) the console, an incident and the fleet board fit the width."""
    b = rig.browser
    site, incident = rig.query(
        "SELECT site, incident FROM incidents WHERE sev_rank >= 1 ORDER BY last_seq DESC LIMIT 1"
    )[0]
    path = {"console": CONSOLE, "incident": incident_path(site, incident), "fleet": "/fleet"}
    marker = {"console": "console", "incident": "incident", "fleet": "board"}
    phone(b, True)
    try:
        visit(rig, b, path[page])
        wait_for(lambda: b.find_elements(By.ID, marker[page]), 10, f"the {page} page")
        fits_width(b, page)
        if page == "console":
            shot(b, "phone.png")
    finally:
        phone(b, False)


def test_both_languages_render(rig: Rig) -> None:
    """budi (the receiver's default, Bahasa Indonesia) gets lang="id" and Indonesian names;
    sari, set to English, gets lang="en" and English ones."""
    b = rig.browser
    visit(rig, b, f"{CONSOLE}?kind=door_open")
    assert lang_of(b) == "id"
    assert "Konsol alarm" in text_of(b) and "Pintu terbuka" in text_of(b)
    with rig.store.db.transaction() as cur:
        cur.execute("UPDATE users SET lang = 'en' WHERE name = 'sari'")
    sari = rig.extra_browsers[0] if rig.extra_browsers else rig.new_browser()
    rig.login(sari, "sari", f"{CONSOLE}?kind=door_open")
    assert lang_of(sari) == "en"
    assert "Alarm console" in text_of(sari) and "Door open" in text_of(sari)


def test_the_fleet_board_shows_the_real_node_and_the_fifty_warehouses(rig: Rig) -> None:
    """The board lists every enrolled node, the real one and the simulated fleet, and counts
    them by state: the silent ones offline, the never heard from never seen, the ones that
    say so degraded, the rest (the real node among them) online; offline rows first."""
    b = rig.browser
    visit(rig, b, "/fleet")
    rows = "return Array.from(document.querySelectorAll('tr.node')).map(r => r.dataset.state);"
    want = {"offline": OFFLINE, "degraded": DEGRADED, "never seen": SILENT}
    want["online"] = WAREHOUSES + 1 - sum(want.values())

    def counts() -> dict[str, int]:
        states = b.execute_script(rows)
        return {s: states.count(s) for s in set(states) | set(want)}

    try:
        wait_for(lambda: counts() == want, OFFLINE_AFTER_S + 15, "the board's states")
    except AssertionError as e:
        raise AssertionError(f"{e}: {counts()}, wanted {want}") from None
    for state, n in want.items():
        shown_n = b.find_element(By.CSS_SELECTOR, f'li.count[data-state="{state}"]')
        assert shown_n.get_attribute("data-count") == str(n), state
    real = f'tr.node[data-site="{SITE}"][data-node="{NODE}"][data-state="online"]'
    assert b.find_elements(By.CSS_SELECTOR, real), "the real node is not online"
    shot(b, "fleet.png")


def test_the_page_stays_live_across_a_receiver_restart(rig: Rig) -> None:
    """The receiver stops under the open console: NOT LIVE shows; the events the fleet sends
    meanwhile appear once it is back, in the same page (no reload), and the banner goes."""
    b = open_console(rig)
    sim = rig.fleet[SILENT + 5]
    pairs = [rig.sim_event(sim, "door_open", "warning") for _ in range(5)]

    def while_down() -> None:
        wait_for(lambda: shown(b, "#notlive"), 10, "the NOT LIVE banner")
        rig.publish([(sim, wire) for _, wire in pairs])

    b.execute_script("window.edgeSameView = true;")
    rig.restart(while_down)
    wait_for(lambda: not shown(b, "#notlive"), 20, "the NOT LIVE banner gone")
    wanted = {event_id for event_id, _ in pairs}
    wait_for(lambda: wanted <= on_page(b), 20, "the missed events on the page")
    assert b.execute_script("return window.edgeSameView === true;"), "the page was reloaded"


def test_the_wall_page_stays_live_past_its_sessions_first_lifetime(rig: Rig) -> None:
    """The console left open past the end its login gave it (``session_lifetime_s`` = 60 s)
    is still live and still served: the page renewed its sliding session."""
    b = open_console(rig)
    sql = "SELECT created, expires FROM sessions WHERE username = 'budi' ORDER BY created DESC"
    created = float(rig.query(sql)[0][0])
    wait_for(lambda: time.time() > created + SESSION_S + 1, SESSION_S + 5, "the first lifetime")
    assert float(rig.query(sql)[0][1]) > time.time() + 30
    wall = "return {state: edgeWall.state, renewals: edgeWall.renewals};"
    wait_for(lambda: b.execute_script(wall)["renewals"] >= 1, 30, "a renewal from the page")
    assert b.execute_script(wall)["state"] == "live"
    assert not shown(b, "#notlive")
    b.get(f"{rig.url}{CONSOLE}")
    assert b.find_elements(By.ID, "console"), b.current_url
