"""Signals on the real daemon (`edge run` on mock pins, tests/node/pinned.py): SIGHUP is
ignored (the node keeps guarding, its siren still sounds), every other signal that would end
the process stops it cleanly (offline said, exit 0), and SIGTERM ends it within the unit's
stop budget (``TimeoutStopSec``) even with a camera's analysis stuck in a call."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from conftest import Subscribe
from nodecfg import file_camera
from pinned import SIREN, PinnedNode, smoke_node

from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Subscriber
from edge.node.signals import stop_signals

pytestmark = [pytest.mark.faults, pytest.mark.slow]

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "warehouse-edge.service"


def _stop_budget_s() -> float:
    """``TimeoutStopSec`` of the unit: systemd kills the node this long after SIGTERM."""
    found = re.search(r"^TimeoutStopSec=(\d+)$", UNIT.read_text(), re.MULTILINE)
    assert found, "the unit names no TimeoutStopSec"
    return float(found.group(1))


def _online(police: Subscriber) -> bool:
    return any(m.topic.endswith("/status") and b'"online"' in m.payload for m in police.messages)


def _offline_after(police: Subscriber, since: float) -> bool:
    return any(
        m.topic.endswith("/status") and b'"offline"' in m.payload and m.at >= since
        for m in list(police.messages)
    )


def _running(tmp: Path, text: str, *, wedge: bool = False) -> PinnedNode:
    config = tmp / "node.toml"
    config.write_text(text)
    node = PinnedNode(config, wedge=wedge).start()
    assert node.wait_status("running", 60), node.tail()
    return node


def test_sighup_is_ignored_and_sigusr2_stops_cleanly(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """SIGHUP: logged as ignored, the node runs on and its siren still sounds for smoke;
    SIGUSR2: a clean stop (logged, offline said, exit 0)."""
    police = subscribe("warehouse/safe/sig-1/#", client_id="sig-1-watch")
    node = _running(tmp_path, smoke_node(tmp_path / "data", "sig-1", broker, ca, node_cert))
    try:
        assert police.wait_for(lambda _m: _online(police), 15)
        node.send(signal.SIGHUP)
        ignored = node.wait_record("node.signal_ignored", 5)
        assert ignored is not None and ignored["signal"] == "SIGHUP"
        at = node.smoke()
        assert node.wait_on(SIREN, at, 5) is not None, node.tail()
        assert node.alive()
        stopped_at = time.time()
        node.send(signal.SIGUSR2)
        assert node.wait(30) == 0, node.tail()
    finally:
        node.kill()
    asked = [r for r in node.records("node.signal") if r["signal"] == "SIGUSR2"]
    assert asked and asked[0]["action"] == "stop"
    assert node.records("node.stopped")
    assert police.wait_for(lambda _m: _offline_after(police, stopped_at), 10)


@pytest.mark.parametrize("name", ["SIGQUIT", "SIGALRM", "SIGPWR", "SIGRTMIN"])
def test_other_ending_signals_stop_cleanly(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, name: str
) -> None:
    """A signal whose default would end the process (core dump or not) stops the node as
    SIGTERM does: logged, stopped, exit 0."""
    sig = getattr(signal, name)
    assert sig in stop_signals()
    node = _running(
        tmp_path, smoke_node(tmp_path / "data", f"sig-{name.lower()}", broker, ca, node_cert)
    )
    try:
        node.send(sig)
        assert node.wait(30) == 0, node.tail()
    finally:
        node.kill()
    assert node.records("node.stopped"), node.tail()
    assert any(r["action"] == "stop" for r in node.records("node.signal"))


def test_sigterm_ends_within_the_stop_budget_with_analysis_wedged(
    tmp_path: Path,
    videos: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
) -> None:
    """A camera whose analysis is stuck in a call for good: SIGTERM ends the process with
    exit 0 well within TimeoutStopSec, naming the stuck camera; the links still said
    offline (the stop went on past the camera)."""
    camera = file_camera("hall", videos / "car-detection.mp4", realtime=True, fps=5)
    camera = camera.replace("realtime = true }", "realtime = true, loop = true }")
    text = smoke_node(tmp_path / "data", "wedge-1", broker, ca, node_cert, cameras=[camera])
    police = subscribe("warehouse/safe/wedge-1/#", client_id="wedge-1-watch")
    node = _running(tmp_path, text, wedge=True)
    try:
        assert police.wait_for(lambda _m: _online(police), 15)
        assert node.wait_record("camera.connected", 15), node.tail()
        time.sleep(2)  # the first frame went in; the analysis is stuck in it for good
        asked = time.monotonic()
        stopped_at = time.time()
        node.send(signal.SIGTERM)
        code = node.wait(_stop_budget_s() + 10)
        took = time.monotonic() - asked
    finally:
        node.kill()
    assert code == 0, node.tail()
    assert took < _stop_budget_s(), f"{took:.1f} s"
    stuck = node.records("service.stuck")
    assert any(r["service"] == "camera-hall" for r in stuck), node.tail()
    assert node.records("node.exit_forced")
    assert police.wait_for(lambda _m: _offline_after(police, stopped_at), 10)
    print(f"SIGTERM with analysis wedged: exit 0 after {took:.2f} s (budget {_stop_budget_s()} s)")
