"""The console's browser tests as an officer sees them: one ``edge receive --http`` subprocess
on the session's mosquitto (mutual TLS), a real node daemon on mock pins (``edge run``: its
door, tamper and smoke inputs driven by the test), a simulated fleet of 50 warehouses
publishing signed heartbeats and events, and headless Chromium (Notification permission
granted through CDP; sound enabled by the page's own one-click button)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dash import PASSWORD, event_wire
from nodecfg import node_config, sensor, tls_destination
from procs import CHROMEDRIVER, CHROMIUM, Daemon, chromium, free_port, receiver_toml, wait_http
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from edge.bench.fleet import Publisher, SimNode, fleet
from edge.config.loader import loads as node_loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.evidence.keys import NodeKey, public_pem
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.users import Users

RUNNER = Path(__file__).resolve().parents[2] / "node" / "pinned_run.py"
"""``edge run`` on mock pins the test drives (tests/node/pinned_run.py)."""
SITE, NODE = "semarang", "gudang-utama"
"""The real node daemon's warehouse."""
DOOR, TAMPER, SMOKE = 5, 6, 22
"""Its door, tamper and smoke inputs."""
WAREHOUSES = 50
"""The simulated fleet."""
WARNINGS = ("door_open", "door_left_open", "camera_fault", "lights_off")
"""Kinds the fleet sends as warnings (shown, not sounded)."""
SILENT = 3
"""Of the fleet, enrolled but never heard from (the board's grey "never seen")."""
OFFLINE, DEGRADED = 4, 2
"""Of the fleet after those: silent after their first heartbeat (offline once
:data:`OFFLINE_AFTER_S` pass), then reporting themselves degraded."""
OFFLINE_AFTER_S = 20
HEARTBEAT_S = 5
OFFICERS = ("budi", "sari")
CONSOLE = "/alerts"
"""The console's path."""
SESSION_S = 60
"""The test config's session lifetime (a sliding session renews it while the page is live)."""
IDLE_S = 120
"""Its idle limit (the shortest allowed): an open page renews every 20 s."""


def wait_for(condition: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll *condition()* until it returns something true; its value. Fails naming *what*."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(step)


@dataclass
class Rig:
    """What the tests of one module share: the receiver, its store, the fleet, the browser."""

    tmp: Path
    url: str
    conf: Path
    data: Path
    store: ReceiverStore
    rx: Daemon
    node: PinnedDaemon
    publisher: Publisher
    fleet: list[SimNode]
    browser: WebDriver
    stack: ExitStack
    extra_browsers: list[WebDriver] = field(default_factory=list)

    # -- the receiver ---------------------------------------------------------------------

    def restart(self, while_down: Callable[[], None]) -> None:
        """Stop the receiver (SIGTERM), run *while_down*, start it again and wait until it
        serves and has subscribed again."""
        self.rx.stop()
        while_down()
        marks = self.rx.log.read_text(errors="replace").count("receiver.subscribed")
        self.rx.start()
        wait_http(f"{self.url}/login", self.rx)
        wait_for(lambda: self.rx.log.read_text(errors="replace").count("receiver.subscribed")
                 > marks, 30, "the receiver subscribed again")  # fmt: skip

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of *sql* on the receiver's store."""
        return [tuple(r) for r in self.store.db.query(sql, args)]

    def scalar(self, sql: str, *args: Any) -> Any:
        """The first column of the first row of *sql*."""
        return self.query(sql, *args)[0][0]

    def committed(self, site: str, node: str, kind: str, after_seq: int = 0) -> tuple[str, float]:
        """(id, received) of the newest stored *kind* event of *site*/*node* after *after_seq*
        (waits up to 10 s for it)."""
        sql = ("SELECT id, received FROM events WHERE site = ? AND node = ? AND kind = ?"
               " AND seq > ? ORDER BY seq DESC LIMIT 1")  # fmt: skip
        row = wait_for(lambda: self.query(sql, site, node, kind, after_seq), 10,
                       f"a stored {kind} of {site}/{node}")  # fmt: skip
        return str(row[0][0]), float(row[0][1])

    def newest_seq(self) -> int:
        """The newest events.seq."""
        return int(self.scalar("SELECT COALESCE(MAX(seq), 0) FROM events"))

    # -- the fleet ------------------------------------------------------------------------

    def publish(self, wires: list[tuple[SimNode, Any]]) -> None:
        """Publish (node, wire) pairs and wait until the broker has them all."""
        for sim, wire in wires:
            self.publisher.publish(sim, wire)
        assert self.publisher.wait_acked(60)

    def sim_event(self, sim: SimNode, kind: str, severity: str, **fields: Any) -> tuple[str, Any]:
        """A signed event of *sim* (an INSTANT unless *fields* say otherwise); (id, wire)."""
        fields.setdefault("state", "instant")
        return event_wire(sim, kind, severity=severity, **fields)

    # -- browsers -------------------------------------------------------------------------

    def new_browser(self, window: tuple[int, int] = (1400, 1000)) -> WebDriver:
        """Another Chromium (another officer's session), closed with the rig."""
        browser = self.stack.enter_context(chromium(window))
        grant_notifications(browser, self.url)
        self.extra_browsers.append(browser)
        return browser

    def login(self, browser: WebDriver, user: str, path: str = CONSOLE) -> None:
        """Log *user* in through the form, ending on *path*."""
        browser.delete_all_cookies()
        browser.get(f"{self.url}/login")
        browser.find_element(By.ID, "username").send_keys(user)
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "login").click()
        WebDriverWait(browser, 10).until(lambda d: "/login" not in d.current_url)
        if not browser.current_url.endswith(path):
            browser.get(f"{self.url}{path}")


class PinnedDaemon:
    """The real node daemon: ``edge run`` on mock pins in its own process (pinned_run.py),
    its inputs driven through its stdin, its log in a file."""

    def __init__(self, config: Path) -> None:
        self.log = config.with_suffix(".log")
        self._out = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, str(RUNNER), str(config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=self._out, text=True)  # fmt: skip

    def drive(self, pin: int, trip: bool) -> None:
        """Trip the sensor at *pin* (or bring it back to rest)."""
        assert self.proc.stdin is not None and self.proc.poll() is None, self.tail()
        self.proc.stdin.write(f"{'trip' if trip else 'rest'} {pin}\n")
        self.proc.stdin.flush()

    def smoke(self) -> None:
        """The smoke detector trips."""
        self.drive(SMOKE, True)

    def kill(self) -> None:
        """SIGKILL, and close its log."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()

    def tail(self, chars: int = 3000) -> str:
        """The end of its log."""
        return f"[exit {self.proc.poll()}]\n{self.log.read_text(errors='replace')[-chars:]}"


def grant_notifications(browser: WebDriver, url: str) -> None:
    """Allow *url*'s Notifications (what the officer's click on the browser prompt does)."""
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": url, "permissions": ["notifications"]}
    )


def hooks(browser: WebDriver) -> dict[str, Any]:
    """The page's test hooks: ``window.edgeConsole`` (sounds, notifications, pulls)."""
    value = browser.execute_script("return window.edgeConsole || null;")
    assert value is not None, "the page has no window.edgeConsole"
    return dict(value)


def shown(browser: WebDriver, css: str) -> bool:
    """Is the element *css* on the page and displayed?"""
    found = browser.find_elements(By.CSS_SELECTOR, css)
    return bool(found) and bool(found[0].is_displayed())


def _node_toml(tmp: Path, broker: LocalBroker, ca: DemoCA, cert: CertPair, prefix: str) -> str:
    return node_config(
        tmp / "node" / "data", NODE, SITE, mock_gpio=True,
        extra='[logging]\nformat = "json"\n[health]\ninterval_s = 5',
        sensors=[sensor("pintu-depan", "door", pin=DOOR, debounce_s=0),
                 sensor("sabotase", "tamper", pin=TAMPER, debounce_s=0),
                 sensor("asap", "smoke", pin=SMOKE, debounce_s=0)],
        destinations=[tls_destination(broker, ca, cert, topic_prefix=prefix)],
    )  # fmt: skip


PLACES = {
    "semarang": ("Gudang Bulog Kaligawe", "Kota Semarang"),
    "solo": ("Gudang Bulog Solo Baru", "Kota Surakarta"),
    "magelang": ("Gudang Pupuk Mertoyudan", "Kabupaten Magelang"),
    "pekalongan": ("Gudang Logistik Pekalongan", "Kota Pekalongan"),
    "tegal": ("Gudang Pelabuhan Tegal", "Kota Tegal"),
    "kudus": ("Gudang Tembakau Kudus", "Kabupaten Kudus"),
    "salatiga": ("Gudang Logistik Salatiga", "Kota Salatiga"),
    "purwokerto": ("Gudang Bulog Purwokerto", "Kabupaten Banyumas"),
    "klaten": ("Gudang Pangan Klaten", "Kabupaten Klaten"),
    "boyolali": ("Gudang Susu Boyolali", "Kabupaten Boyolali"),
}
"""The warehouses' display names and kabupaten/kota (the receiver config's [sites])."""


def places_toml() -> str:
    """``[sites."SITE"]`` tables for :data:`PLACES` and a name for the real node."""
    out = [f'[sites."{site}"]\nname = "{name}"\nregency = "{regency}"\n'
           for site, (name, regency) in PLACES.items()]  # fmt: skip
    return "".join(out) + f'[nodes."{SITE}/{NODE}"]\nname = "Pintu utama (node asli)"\n'


class Heartbeats:
    """The fleet's heartbeats every :data:`HEARTBEAT_S`, on a connection of their own,
    from every warehouse heard from but the :data:`OFFLINE` ones (the :data:`DEGRADED`
    ones say so)."""

    def __init__(self, publisher: Publisher, sims: list[SimNode]) -> None:
        self.publisher, self.sims = publisher, sims[SILENT + OFFLINE :]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            for i, sim in enumerate(self.sims):
                status = "degraded" if i < DEGRADED else "healthy"
                self.publisher.publish(sim, sim.heartbeat(status=status))

    def close(self) -> None:
        """Stop (and disconnect)."""
        self.stop.set()
        self.thread.join(10)
        self.publisher.close()


def _fleet_history(sims: list[SimNode]) -> list[tuple[SimNode, Any]]:
    """What the fleet published before the shift: a heartbeat from each warehouse that is
    heard from, and motion, info and warning events (nothing an officer must act on)."""
    out: list[tuple[SimNode, Any]] = []
    for i, sim in enumerate(sims[SILENT:]):
        out.append((sim, sim.heartbeat()))
        kind, severity = [("motion", "info"), ("door_left_open", "warning"),
                          ("door_open", "warning")][i % 3]  # fmt: skip
        out.append((sim, event_wire(sim, kind, severity=severity, state="instant")[1]))
    return out


@contextmanager
def console_rig(
    tmp: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, http: str = ""
) -> Iterator[Rig]:
    """Start everything (receiver, node daemon, fleet, browser); stop it all at the end.
    *http* adds lines to the config's ``[http]`` table."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("needs Debian's chromium and chromium-driver (make apt-test)")
    unique = hashlib.sha256(str(tmp).encode()).hexdigest()[:6]
    name, prefix = f"polda-jateng-{unique}", f"console-{unique}"
    data, conf = tmp / "rx", tmp / "receiver.toml"
    toml = receiver_toml(data, broker, ca, name, prefix, offline_after_s=OFFLINE_AFTER_S)
    http = f"session_lifetime_s = {SESSION_S}\nidle_limit_s = {IDLE_S}\n{http}"
    conf.write_text(toml + http + places_toml())
    node_text = _node_toml(tmp, broker, ca, node_cert, prefix)
    (tmp / "node.toml").write_text(node_text)
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    sims = list(fleet(WAREHOUSES))
    with ExitStack() as stack:
        stack.callback(store.close)
        store.enrol(SITE, NODE, public_pem(NodeKey(node_loads(node_text).key_path).public))
        for sim in sims:
            store.enrol(sim.site, sim.node, sim.key.pem)
        for user in OFFICERS:
            Users(store.db).add(user, "officer", PASSWORD)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        rx = Daemon(["receive", "--config", str(conf), "--http", f"127.0.0.1:{port}"],
                    tmp / "rx.log")  # fmt: skip
        rx.start()
        stack.callback(rx.stop)
        node = PinnedDaemon(tmp / "node.toml")
        stack.callback(node.kill)
        pair = ca.issue("console-fleet")
        pub = Publisher(broker.tls_port, ca.ca_path, pair.cert, pair.key, prefix)
        stack.callback(pub.close)
        beats = Heartbeats(
            Publisher(broker.tls_port, ca.ca_path, pair.cert, pair.key, prefix), sims
        )
        stack.callback(beats.close)
        browser = stack.enter_context(chromium((1400, 1000)))
        wait_http(f"{url}/login", rx)
        wait_for(lambda: "receiver.subscribed" in rx.log.read_text(errors="replace"), 30,
                 "the receiver subscribed")  # fmt: skip
        grant_notifications(browser, url)
        rig = Rig(tmp, url, conf, data, store, rx, node, pub, sims, browser, stack)
        rig.publish(_fleet_history(sims))
        wait_for(lambda: rig.scalar("SELECT COUNT(*) FROM events WHERE node LIKE 'gudang-0%'")
                 >= WAREHOUSES - SILENT, 30, "the fleet's history stored")  # fmt: skip
        yield rig
