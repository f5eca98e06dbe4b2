"""`edge check-config` says what `edge run` would do: a config that `edge run` cannot run
as written is refused by both, with the same one line naming the key (exit 2, no traceback),
through the real command line. A mock GPIO factory passes with a loud WARNING line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from signingkey import write_signing_key

from edge.config.gpio import MOCK_WARNING, gpio_problems
from edge.config.loader import loads
from edge.demo.pki import CertPair, DemoCA

pytestmark = [pytest.mark.faults, pytest.mark.slow]

PASSWORD = "Pw-0c41e9-canary"
VIDEO = "preview_people-detection.gif"


def _edge(*args: str, cwd: Path) -> tuple[int, list[str]]:
    """``python -m edge ARGS`` to its end: (exit code, stderr lines); never a traceback and
    nothing on stdout (both commands refuse before they start)."""
    env = {k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}
    proc = subprocess.run(
        [sys.executable, "-m", "edge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr.splitlines()


Case = Callable[[Path, dict[str, str]], tuple[str, str]]
"""(tmp_path, settings) -> (config text, the expected line after ``CONFIG: ``); a line ending
in ``...`` is matched as a prefix."""


def _toml(s: dict[str, str], *, data_dir: str | None = None, dest: bool = True) -> str:
    text = f'[node]\nid = "wh-01"\nsite = "ams"\ndata_dir = "{data_dir or s["data"]}"\n'
    text += s.get("extra", "")
    if dest:
        text += (
            f'\n[[destinations]]\nname = "police"\nhost = "127.0.0.1"\nport = 1\n'
            f'tls = {{ ca = "{s["ca"]}", cert = "{s["cert"]}", key = "{s["key"]}" }}\n'
        )
    return text


def _camera(detect: str, extra: str = "") -> str:
    return f'\n[[cameras]]\nname = "dock"\ndetect = {detect}\n{extra}'


CASES: dict[str, Case] = {
    "gpio-default-not-loadable": lambda t, s: (
        _toml({**s, "extra": '\n[[sensors]]\nname = "smoke"\nkind = "smoke"\npin = 4\n'}),
        'gpio.factory: "default" cannot load a GPIO pin factory on this machine (...',
    ),
    "siren-kind-nothing-raises": lambda t, s: (
        _toml(
            {
                **s,
                "extra": '\n[[sensors]]\nname = "smoke"\nkind = "smoke"\npin = 4\n'
                '[[outputs]]\nname = "siren"\nkind = "siren"\npin = 5\nkinds = ["fire"]\n',
            }
        ),
        "outputs[0].kinds: no sensor, camera or arming rule of this node raises 'fire' as an "
        "alarm, so the siren would never sound for it; kinds this node can sound it for: "
        "smoke, or '*'",
    ),
    "unrelated-ca": lambda t, s: (
        _toml({**s, "ca": str(DemoCA(t / "other-ca", "some other CA").ca_path)}),
        f"destinations[0].tls.cert: {s['cert']} was not issued by the CA in {t / 'other-ca'}/...",
    ),
    "missing-file-camera": lambda t, s: (
        _toml({**s, "extra": _camera(f'{{ kind = "file", path = "{t / "gone.mp4"}" }}')}),
        f"cameras[0].detect.path: file not found: {t / 'gone.mp4'}",
    ),
    "rtsp-port-99999": lambda t, s: (
        _toml(
            {
                **s,
                "extra": _camera(
                    f'{{ kind = "rtsp", url = "rtsp://admin:{PASSWORD}@cam:99999/'
                    f'user=admin_password={PASSWORD}_channel=1_stream=0.sdp" }}'
                ),
            }
        ),
        "cameras[0].detect.url: port 99999 is not a TCP port (1-65535) in "
        "rtsp://***@cam:99999/user=admin_password=***_channel=1_stream=0.sdp",
    ),
    "zone-outside-the-frame": lambda t, s: (
        _toml(
            {
                **s,
                "extra": _camera(
                    f'{{ kind = "file", path = "{s["video"]}" }}',
                    "resolution = [640, 480]\n"
                    'zones = [{ name = "gate", points = [[0, 0], [1280, 0], [0, 480]] }]\n',
                ),
            }
        ),
        "cameras[0].zones[0].points[1]: [1280, 0] is outside the 640x480 frame of "
        "resolution (x 0-640, y 0-480): draw it on a frame of that size, or correct resolution",
    ),
    "relative-data-dir": lambda t, s: (
        _toml(s, data_dir="state"),
        "node.data_dir: 'state' is a relative path: give an absolute one (...",
    ),
    "no-destinations": lambda t, s: (
        _toml(s, dest=False),
        "destinations: none configured: no alarm, event or clip would reach anyone; add a "
        "[[destinations]] table (the police broker)",
    ),
    "pre-roll-over-max": lambda t, s: (
        _toml({**s, "extra": "\n[clips]\npre_roll_s = 30\nmax_s = 20\n"}),
        "clips.pre_roll_s: 30 s is not less than max_s (20 s): a clip holds its pre-roll and "
        "then the activity",
    ),
    "schedule-start-equals-end": lambda t, s: (
        _toml(
            {
                **s,
                "extra": '\n[[rules.schedules]]\nname = "night"\ndays = ["mon"]\n'
                'start = "22:00"\nend = "22:00"\n',
            }
        ),
        "rules.schedules[0].end: equals start (22:00), a schedule that is never in force (...",
    ),
    "record-is-etc-shadow": lambda t, s: (
        _toml(
            {
                **s,
                "extra": _camera(
                    f'{{ kind = "file", path = "{s["video"]}" }}',
                    'record = { kind = "file", path = "/etc/shadow" }\n',
                ),
            }
        ),
        "cameras[0].record.path: /etc/shadow is a system file (in /etc), not a video: ...",
    ),
    "outbox-in-etc": lambda t, s: (
        _toml({**s, "extra": '\n[outbox]\npath = "/etc/outbox.sqlite"\n'}),
        "outbox.path: /etc/outbox.sqlite is in the system directory /etc: the node writes there...",
    ),
}


@pytest.fixture
def settings(tmp_path: Path, ca: DemoCA, node_cert: CertPair, videos: Path) -> dict[str, str]:
    """A data directory holding the node's signing key, the session CA, the node's TLS pair
    and a sample video: everything else in the cases is usable."""
    data = tmp_path / "state"
    write_signing_key(data)
    return {
        "data": str(data),
        "ca": str(ca.ca_path),
        "cert": str(node_cert.cert),
        "key": str(node_cert.key),
        "video": str(videos / VIDEO),
    }


def _matches(line: str, expected: str) -> bool:
    return line.startswith(expected[:-3]) if expected.endswith("...") else line == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_config_and_run_refuse_it_in_the_same_one_line(
    case: str, tmp_path: Path, settings: dict[str, str]
) -> None:
    """Each case: `edge check-config FILE` exits 2 with one line naming the key, and `edge run`
    exits 2 with that same line, before it starts anything; no password is ever shown."""
    text, expected = CASES[case](tmp_path, settings)
    if case == "gpio-default-not-loadable" and not gpio_problems(loads(text)):
        pytest.skip("gpiozero loads a pin factory on this machine: nothing to refuse")
    config = tmp_path / "node.toml"
    config.write_text(text)
    code, checked = _edge("check-config", str(config), cwd=tmp_path)
    assert code == 2, checked
    assert len(checked) == 1 and _matches(checked[0], f"{config}: {expected}"), checked
    code, ran = _edge("run", "--config", str(config), cwd=tmp_path)
    assert (code, ran) == (2, checked)
    assert PASSWORD not in "\n".join(checked)


def test_mock_gpio_passes_with_a_warning_line(tmp_path: Path, settings: dict[str, str]) -> None:
    """`gpio.factory = "mock"` with a smoke sensor and its siren: check-config passes (exit 0,
    its OK line on stdout) and says on stderr, in one WARNING line, that it is for tests and
    demos only."""
    extra = (
        '\n[gpio]\nfactory = "mock"\n[[sensors]]\nname = "smoke"\nkind = "smoke"\npin = 4\n'
        '[[outputs]]\nname = "siren"\nkind = "siren"\npin = 5\nkinds = ["smoke"]\n'
    )
    config = tmp_path / "node.toml"
    config.write_text(_toml({**settings, "extra": extra}))
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "check-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [f"{config}: WARNING: {MOCK_WARNING}"]
    assert proc.stdout.startswith(f"{config}: OK: node wh-01 at ams")
