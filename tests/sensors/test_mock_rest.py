"""`gpio.factory = "mock"` is for demos and tests: a node built on it starts with every
contact at rest (no smoke alarm, no siren at start, whatever the wiring settings), still
alarms when a pin is driven, and says at every start that it reads no real GPIO."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from conftest import Subscribe
from nodecfg import node_config, sensor, tls_destination
from timing import wait_until

from edge.config.gpio import MOCK_WARNING, resting_level
from edge.config.loader import loads
from edge.core.logs import configure
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.events.model import Event

pytestmark = pytest.mark.faults

SIREN = """
[[outputs]]
name = "siren"
kind = "siren"
pin = 24
kinds = ["smoke", "tamper"]
duration_s = 60
"""

SENSORS = [
    sensor("smoke-loop", "smoke", pin=4, debounce_s=0),  # normally-closed loop (the default)
    sensor("smoke-relay", "smoke", pin=5, active_when="closed", debounce_s=0),
    sensor("smoke-down", "smoke", pin=6, pull_up=False, debounce_s=0),
    sensor("case", "tamper", pin=7, debounce_s=0),
    sensor("door", "door", pin=8, debounce_s=0),
]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Every structured log line (JSON) written to a buffer for the test."""
    saved = structlog.get_config()
    buf = io.StringIO()
    configure("debug", "json", stream=buf)
    yield buf
    structlog.configure(**saved)


def test_mock_node_starts_quiet_and_still_alarms(tmp_path: Path, log_stream: io.StringIO) -> None:
    """Every input at rest at start (no event, siren off, each pin at its resting level);
    the start logs the mock warning; cutting the smoke loop then raises a critical smoke
    alarm and sounds the siren."""
    from edge.node.node import Node

    cfg = loads(node_config(tmp_path, "n", mock_gpio=True, sensors=SENSORS, extra=SIREN))
    node = Node(cfg)
    events: list[Event] = []
    node.sink.subscribe(events.append)
    node.start()
    try:
        assert wait_until(lambda: node.gpio.loop.handled >= len(SENSORS), 5)  # first reads
        assert [(e.kind, e.sensor) for e in events] == []
        assert not node.sirens[0].is_on
        assert [s.active for s in node.sensors] == [False] * len(SENSORS)
        for s in cfg.sensors:
            assert bool(node.pin_factory.pin(s.pin).state) == resting_level(s), s.name
        loop = node.pin_factory.pin(4)
        loop.drive_high()  # the loop is cut: smoke
        assert wait_until(lambda: any(e.kind == "smoke" for e in events), 5)
        smoke = [e for e in events if e.kind == "smoke"]
        assert [(e.sensor, e.severity) for e in smoke] == [("smoke-loop", "critical")]
        assert node.sirens[0].is_on
    finally:
        node.stop()
    warned = [json.loads(x) for x in log_stream.getvalue().splitlines() if "gpio.mock" in x]
    assert warned and warned[0]["level"] == "warning" and warned[0]["warning"] == MOCK_WARNING


@pytest.mark.slow
def test_edge_run_on_mock_gpio_warns_and_sends_no_alarm(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
) -> None:
    """A real `edge run` of a demo node (mock GPIO, a normally-closed smoke loop, a siren for
    smoke) logs the mock warning, and the police receive its first heartbeat but no smoke
    alarm, before or after it."""
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        node_config(
            tmp_path / "data",
            "mock1",
            "s1",
            mock_gpio=True,
            extra='[logging]\nformat = "json"\n' + SIREN,
            sensors=SENSORS,
            destinations=[tls_destination(broker, ca, node_cert)],
        )
    )
    police = subscribe("warehouse/s1/mock1/#", client_id="police-mock-rest")
    err_path = tmp_path / "stderr.log"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            assert police.wait_for(lambda ms: any(m.topic.endswith("/health") for m in ms), 30)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert [e["kind"] for e in police.events() if e["kind"] in ("smoke", "tamper")] == []
    lines = [json.loads(x) for x in err_path.read_text().splitlines() if x.startswith("{")]
    warned = [x for x in lines if x.get("event") == "gpio.mock_factory"]
    assert warned and warned[0]["level"] == "warning" and warned[0]["warning"] == MOCK_WARNING
