"""The GPIO library on an installed node (the shared chroot): lgpio, gpiozero's pin factory on
a Raspberry Pi, is in the node's venv from the wheelhouse; `edge check-config` loads the
configured factory, and on a machine where it cannot (the chroot has no /dev/gpiochip*) says
so in one line, exit 2, as `edge run` does: an exit status the unit does not restart on."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from debroot import in_root
from installed import Install

pytestmark = pytest.mark.slow

EDGE = "/opt/warehouse-edge/venv/bin/edge"
PYTHON = "/opt/warehouse-edge/venv/bin/python"
SENSOR = '\n[[sensors]]\nname = "door"\nkind = "door"\npin = 17\n'


@pytest.fixture
def gpio_config(install: Install) -> Iterator[str]:
    """The installed node.toml plus one door contact, and the TLS files as credentials the
    service user may read, in the root's /tmp (removed afterwards); yields the config path."""
    root = install.root
    work = root / "tmp/gpio-test"
    creds = work / "credentials"
    creds.mkdir(parents=True)
    for name in ("site-ca.crt", "node.crt", "node.key"):
        shutil.copy(root / "etc/warehouse-edge/tls" / name, creds / name)
    (work / "node.toml").write_text((root / "etc/warehouse-edge/node.toml").read_text() + SENSOR)
    assert in_root(root, "chown", "-R", "warehouse-edge:", "/tmp/gpio-test").returncode == 0
    yield "/tmp/gpio-test/node.toml"
    shutil.rmtree(work)


def _as_service_user(install: Install, *argv: str) -> tuple[int, list[str]]:
    """Run *argv* in the root as the service user from / (not writable: as under systemd)
    with the test's credentials; exit status and the non-empty lines of stderr."""
    done = in_root(
        install.root,
        "sh",
        "-c",
        'cd / && exec env CREDENTIALS_DIRECTORY=/tmp/gpio-test/credentials "$@"',
        "sh",
        *argv,
        user="warehouse-edge",
    )
    return done.returncode, [line for line in done.stderr.splitlines() if line.strip()]


def test_lgpio_is_in_the_node_venv(install: Install) -> None:
    """The node's venv imports lgpio and gpiozero's lgpio pin factory (from the wheelhouse) as
    the service user from its data folder; from a folder it may not write (/ under systemd)
    lgpio's own import fails (it makes its pipes there): why the node imports it from its
    data folder (edge.config.gpio.import_lgpio_in)."""
    here = "import os; os.chdir('/var/lib/warehouse-edge'); "
    for module in ("lgpio", "gpiozero.pins.lgpio"):
        code, err = _as_service_user(install, PYTHON, "-c", f"{here}import {module}")
        assert code == 0, (module, err)
    code, err = _as_service_user(install, PYTHON, "-c", "import lgpio")
    assert code != 0 and any(".lgd-nfy" in line for line in err), err


def test_gpio_fault_is_one_line_and_an_exit_the_unit_keeps(
    install: Install, gpio_config: str
) -> None:
    """With a sensor and no GPIO chip, `edge check-config` and `edge run` each print one line
    naming gpio.factory and what lgpio said (it loaded: the chroot just has no chip), exit 2,
    and the installed unit's RestartPreventExitStatus holds 2: no crash loop."""
    check_code, check = _as_service_user(install, EDGE, "check-config", gpio_config)
    run_code, run = _as_service_user(install, EDGE, "run", "--config", gpio_config)
    for code, lines in ((check_code, check), (run_code, run)):
        assert code == 2, lines
        # The tool's own lines name the config (the chroot has no /proc: onnxruntime's cpuinfo
        # warnings are the test root's, not the node's).
        own = [line for line in lines if line.startswith(gpio_config)]
        assert len(own) == 1 and "gpio.factory" in own[0], lines
        # lgpio was imported and tried (the chroot lacks /proc and a chip), not missing.
        assert "lgpio: " in own[0] and "lgpio: No module named" not in own[0], own[0]
        assert ".lgd-nfy" not in own[0] and "Traceback" not in "\n".join(lines), lines
    unit = (install.root / "etc/systemd/system/warehouse-edge.service").read_text()
    prevent = re.findall(r"^RestartPreventExitStatus=(.+)$", unit, re.M)
    assert prevent and "2" in " ".join(prevent).split()
