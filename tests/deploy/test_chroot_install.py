"""site.yml for real: a Debian bookworm root (debootstrap) gets a node and a police receiver
through the community.general.chroot connection, from a wheel and a wheelhouse built here (the
root reaches no package index). The second run changes nothing; afterwards the root holds a
service user, venvs that run, enabled units, a config that passes check-config, the model with
its hash, the Raspberry Pi firmware files and private keys that only their owner may read. The
second run is an offline site's (no mirror answers); a third, --check --diff, changes nothing
and prints no key."""

from __future__ import annotations

import hashlib
import shutil
import stat
from pathlib import Path

import pytest
from debroot import DEPLOY, MODEL, PEM_PRIVATE, in_root, recap, statuses
from installed import OFFLINE_MIRROR, Install

pytestmark = pytest.mark.slow


def test_second_run_changes_nothing(install: Install, capsys: pytest.CaptureFixture[str]) -> None:
    """The first run changes the root; the second, with the same inputs, reports changed=0."""
    with capsys.disabled():
        first, again = install.seconds
        print(f"\nsite.yml into a chroot: {first:.0f} s, again {again:.0f} s")
    assert recap(install.first.stdout)["changed"] > 10
    second = recap(install.second.stdout)
    assert second["changed"] == 0 and second["failed"] == 0, install.second.stdout[-6000:]


def test_offline_rerun_needs_no_mirror(install: Install) -> None:
    """The second run found every package installed: it ran with apt pointed at a mirror
    that does not answer and two-day-old package lists, and skipped apt (no index update, no
    install), so an offline warehouse re-runs site.yml (changed=0: the test above)."""
    assert OFFLINE_MIRROR in (install.root / "etc/apt/sources.list").read_text()
    out = install.second.stdout
    assert statuses(out, "Find the missing system packages") == ["ok", "ok"], out[-3000:]
    for task in (
        "Update the package index",
        "Say which packages are missing",
        "Install the missing system packages",
    ):
        assert set(statuses(out, task)) == {"skipping"}, (task, out[-3000:])


def test_check_diff_changes_nothing_and_shows_no_key(install: Install) -> None:
    """A third run with --check --diff on the provisioned root succeeds, reports changed=0
    (no false change) and prints no private key."""
    out = install.check.stdout + install.check.stderr
    assert install.check.returncode == 0, out[-6000:]
    counts = recap(install.check.stdout)
    assert counts["changed"] == 0 and counts["failed"] == 0, out[-6000:]
    assert not PEM_PRIVATE.search(out.encode()) and "PRIVATE KEY" not in out


def test_node_software_user_and_unit(install: Install) -> None:
    """The service user (in video and gpio, no login) exists, the venv runs `edge --version`
    installed from the wheel, and both the node and the receiver units are enabled."""
    root = install.root
    user = in_root(root, "id", "warehouse-edge")
    assert user.returncode == 0 and "video" in user.stdout and "gpio" in user.stdout
    assert "/usr/sbin/nologin" in (root / "etc/passwd").read_text()
    version = in_root(root, "/opt/warehouse-edge/venv/bin/edge", "--version")
    assert version.returncode == 0 and version.stdout.strip(), version.stderr
    wheels = list((root / "opt/warehouse-edge/releases").glob("*/warehouse_edge-*.whl"))
    assert len(wheels) == 1
    for unit in ("warehouse-edge.service", "warehouse-receiver.service"):
        enabled = in_root(root, "systemctl", "is-enabled", unit)
        assert enabled.stdout.strip() == "enabled", enabled.stdout + enabled.stderr
        assert (root / "etc/systemd/system/multi-user.target.wants" / unit).is_symlink()
    # The firstboot unit belongs to baked images only.
    assert not (root / "etc/systemd/system/warehouse-edge-firstboot.service").exists()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_modes_keys_private(install: Install) -> None:
    """Private keys are 0600 (TLS key root's, signing key the service user's), the config is
    0640 root:warehouse-edge, the state directory 0700."""
    root = install.root
    assert _mode(root / "etc/warehouse-edge/tls/node.key") == 0o600
    assert _mode(root / "etc/warehouse-edge/node.toml") == 0o640
    assert _mode(root / "var/lib/warehouse-edge") == 0o700
    signing = root / "var/lib/warehouse-edge/keys/node-ed25519.pem"
    assert _mode(signing) == 0o600
    owner = in_root(root, "stat", "-c", "%U:%G", "/var/lib/warehouse-edge/keys/node-ed25519.pem")
    assert owner.stdout.strip() == "warehouse-edge:warehouse-edge"
    cfg = in_root(root, "stat", "-c", "%U:%G", "/etc/warehouse-edge/node.toml")
    assert cfg.stdout.strip() == "root:warehouse-edge"
    assert _mode(root / "etc/warehouse-receiver/tls/receiver.key") == 0o600
    assert _mode(root / "etc/warehouse-receiver/receiver.toml") == 0o640


def test_config_passes_check_config_with_preflight(install: Install) -> None:
    """As the service user with the TLS files handed over as systemd would (a credentials
    folder it may read), `edge check-config` passes with preflight: data dir, TLS, signing
    key, and the model loaded and matching detector.model_sha256."""
    root = install.root
    creds = root / "run/credentials/warehouse-edge.service"
    creds.mkdir(parents=True, exist_ok=True)
    try:
        _check_config_as_the_service(root)
    finally:  # the root is shared: leave no credentials folder behind for the next test
        shutil.rmtree(root / "run/credentials", ignore_errors=True)


def _check_config_as_the_service(root: Path) -> None:
    """check-config without and with preflight (the latter as the service user)."""
    creds = root / "run/credentials/warehouse-edge.service"
    for name in ("site-ca.crt", "node.crt", "node.key"):
        shutil.copy(root / "etc/warehouse-edge/tls" / name, creds / name)
    assert in_root(root, "chown", "-R", "warehouse-edge:", "/run/credentials").returncode == 0
    edge = "/opt/warehouse-edge/venv/bin/edge"
    cfg = "/etc/warehouse-edge/node.toml"
    plain = in_root(
        root,
        edge,
        "check-config",
        "--no-preflight",
        "--credentials",
        "/etc/warehouse-edge/tls",
        cfg,
    )
    assert plain.returncode == 0, plain.stdout + plain.stderr
    run = in_root(
        root,
        "env",
        "CREDENTIALS_DIRECTORY=/run/credentials/warehouse-edge.service",
        edge,
        "check-config",
        cfg,
        user="warehouse-edge",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    text = (root / "etc/warehouse-edge/node.toml").read_text()
    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert f'model_sha256 = "{sha}"' in text and 'timezone = "Asia/Jakarta"' in text
    model = root / "opt/warehouse-edge/models" / MODEL.name
    assert hashlib.sha256(model.read_bytes()).hexdigest() == sha


def test_rpi_firmware_files_installed(install: Install) -> None:
    """board=rpi: the config.txt fragment (included), watchdog, udev, journald and chrony
    drop-ins are in place, each starting with its one-line comment."""
    root = install.root
    boot = root / "boot/firmware"
    assert "include warehouse-edge.txt" in (boot / "config.txt").read_text()
    fragment = (boot / "warehouse-edge.txt").read_text()
    assert "dtparam=watchdog=on" in fragment and "gpio=17,27=ip,pu" in fragment
    for path in (
        "etc/systemd/system.conf.d/warehouse-edge-watchdog.conf",
        "etc/udev/rules.d/99-warehouse-edge.rules",
        "etc/systemd/journald.conf.d/warehouse-edge.conf",
        "etc/chrony/conf.d/warehouse-edge.conf",
    ):
        assert (root / path).read_text().startswith("# warehouse-edge: "), path
    assert (
        "RuntimeWatchdogSec="
        in (root / "etc/systemd/system.conf.d" / "warehouse-edge-watchdog.conf").read_text()
    )


def test_receiver_installed_with_postgres_store(install: Install) -> None:
    """The receiver's venv runs, its config points the store at the PostgreSQL URL and passes
    `edge check-config --no-preflight`; the node's own venv holds no psycopg."""
    root = install.root
    text = (root / "etc/warehouse-receiver/receiver.toml").read_text()
    assert 'store = "postgresql://warehouse-receiver@/warehouse"' in text
    edge = "/opt/warehouse-receiver/venv/bin/edge"
    check = in_root(
        root,
        edge,
        "check-config",
        "--no-preflight",
        "--credentials",
        "/etc/warehouse-receiver/tls",
        "/etc/warehouse-receiver/receiver.toml",
    )
    assert check.returncode == 0, check.stdout + check.stderr
    pg = in_root(root, "/opt/warehouse-receiver/venv/bin/python", "-c", "import psycopg")
    assert pg.returncode == 0, pg.stderr
    nopg = in_root(root, "/opt/warehouse-edge/venv/bin/python", "-c", "import psycopg")
    assert nopg.returncode != 0
    assert (DEPLOY / "roles/warehouse_receiver").is_dir()
