"""A command run as root acts as systemd runs the service: the unit that runs the config is
found by its ExecStart=, its LoadCredential= files are handed over in a private directory and
the command becomes the unit's User= before it touches state (no root-owned file left); run
as the service user, ``credential:NAME`` is the unit's source and a check that cannot read it
says to use sudo. Real files, real setuid (in a forked child, as the command itself would)."""

from __future__ import annotations

import atexit
import json
import os
import pwd
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import edge.cli.check_config
import edge.cli.keys
import edge.cli.receive
import edge.config.preflight
import edge.evidence.keys
import edge.receiver.config
import edge.receiver.keyring
import edge.receiver.store.store  # (these imported before a child gives up root)
import edge.wire.tls
from edge.bench.fleet import SimNode
from edge.cli import asservice
from edge.cli.main import main
from edge.config import serviceunit
from edge.config.loader import load
from edge.demo.pki import DemoCA
from edge.receiver.store import keys
from edge.receiver.store.store import ReceiverStore

USER = "nobody"
UNIT = """# a test unit
[Unit]
Description=test receiver

[Service]
ExecStart=/opt/x/venv/bin/edge receive \\
  --config {config}
User=nobody
Group=nogroup
LoadCredential=police-ca.crt:{tls}/police-ca.crt
LoadCredential=receiver.crt:{tls}/receiver.crt
LoadCredential=receiver.key:{tls}/receiver.key
LoadCredential=other-store-lookup
"""


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder others may enter (not below root's 0700 pytest folder) holding a receiver
    config with credential: TLS paths, root-only TLS files, a data directory owned by
    nobody, and a unit folder (the only one looked in) with a unit that runs the config."""
    need_root()
    base = Path(tempfile.mkdtemp(prefix="edge-asservice-"))
    base.chmod(0o755)
    ca = DemoCA(base / "ca", "test police CA")
    pair = ca.issue("polda-test")
    tls = base / "tls"
    tls.mkdir(mode=0o700)
    for src, name in ((ca.ca_path, "police-ca.crt"), (pair.cert, "receiver.crt"),
                      (pair.key, "receiver.key")):  # fmt: skip
        shutil.copy(src, tls / name)
        (tls / name).chmod(0o600)
    data = base / "data"
    data.mkdir(mode=0o700)
    nobody = pwd.getpwnam(USER)
    os.chown(data, nobody.pw_uid, nobody.pw_gid)
    config = base / "receiver.toml"
    config.write_text(
        f'[receiver]\nname = "polda-test"\ndata_dir = "{data}"\n'
        '[broker]\nhost = "localhost"\n'
        '[broker.tls]\nca = "credential:police-ca.crt"\ncert = "credential:receiver.crt"\n'
        'key = "credential:receiver.key"\n'
    )
    config.chmod(0o644)
    units = base / "units"
    units.mkdir()
    (units / "test-receiver.service").write_text(UNIT.format(config=config, tls=tls))
    monkeypatch.setattr(serviceunit, "UNIT_DIRS", (units,))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def need_root() -> None:
    """Skip unless root (becoming another user needs it; CI runs as root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (setuid)")


def in_child(tmp: Path, fn: Callable[[], int]) -> tuple[int, str, str]:
    """Run *fn* in a forked child (which may give up root for good), its stdout and stderr
    in files: (exit status, stdout, stderr)."""
    out, err = tmp / "out", tmp / "err"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            with out.open("w") as o, err.open("w") as e:
                os.dup2(o.fileno(), 1)
                os.dup2(e.fileno(), 2)
                sys.stdout, sys.stderr = o, e
                try:
                    code = fn()
                except SystemExit as x:
                    code = x.code if isinstance(x.code, int) else 1
                except BaseException:  # shown in the test's failure, not lost with the child
                    traceback.print_exc(file=e)
                atexit._run_exitfuncs()  # as the command's own exit would
                o.flush()
                e.flush()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.read_text(), err.read_text()


def test_the_unit_is_found_by_its_config_and_read(site: Path) -> None:
    """The unit whose ExecStart= (continued over two lines) names the config is found; its
    User=, Group= and absolute LoadCredential= are read, the credstore lookup is set aside; a
    config no unit runs has none."""
    unit = serviceunit.unit_for(site / "receiver.toml")
    assert unit is not None and unit.name == "test-receiver.service"
    assert (unit.user, unit.group) == ("nobody", "nogroup")
    assert list(unit.credentials) == ["police-ca.crt", "receiver.crt", "receiver.key"]
    assert unit.credentials["receiver.key"] == site / "tls/receiver.key"
    assert unit.skipped == ("other-store-lookup",)
    assert serviceunit.unit_for(site / "other.toml") is None


def test_credentials_resolve_to_the_units_files_without_systemd(site: Path) -> None:
    """No $CREDENTIALS_DIRECTORY: credential:NAME is the file the unit hands over as NAME;
    with it, the file in that directory (as under systemd)."""
    cfg = edge.receiver.config.load(site / "receiver.toml")
    assert cfg.broker.tls is not None and cfg.broker.tls.key == str(site / "tls/receiver.key")
    cfg = edge.receiver.config.load(site / "receiver.toml", env={"CREDENTIALS_DIRECTORY": "/c"})
    assert cfg.broker.tls is not None and cfg.broker.tls.key == "/c/receiver.key"


def test_a_credential_the_unit_does_not_load_is_named(site: Path, tmp_path: Path) -> None:
    """A credential name the unit has no LoadCredential= for: the error names the unit."""
    node = site / "node.toml"
    node.write_text('[node]\nid = "n"\nsite = "s"\n')
    (site / "units/test-receiver.service").write_text(UNIT.format(config=node, tls="/t"))
    text = node.read_text() + (
        '[[destinations]]\nname = "p"\nkind = "mqtt"\nhost = "h"\n'
        'tls = { ca = "credential:nope.crt" }\n'
    )
    node.write_text(text)
    with pytest.raises(Exception, match=r"has no LoadCredential=nope.crt:PATH"):
        load(node)


def test_sudo_check_config_hands_over_and_checks_as_the_user(site: Path, tmp_path: Path) -> None:
    """As root: the credentials (root-only files) are handed over in a private directory
    owned by the unit's user and the check runs as that user: exit 0, and the directory is
    gone afterwards."""
    before = set(Path("/dev/shm").glob("edge-credentials.test-receiver.*"))

    def check() -> int:
        return main(["check-config", str(site / "receiver.toml")])

    code, out, err = in_child(tmp_path, check)
    assert code == 0, out + err
    assert "OK: receiver polda-test" in out and "TLS files and data directory checked" in out
    assert set(Path("/dev/shm").glob("edge-credentials.test-receiver.*")) == before


def test_as_the_user_an_unreadable_key_says_run_it_with_sudo(site: Path, tmp_path: Path) -> None:
    """As the service user, without $CREDENTIALS_DIRECTORY: exit 2, one line per
    credential naming the file and saying to run the check with sudo."""
    nobody = pwd.getpwnam(USER)

    def as_nobody() -> int:
        asservice.drop_to(USER, nobody.pw_uid, nobody.pw_gid, None)
        return main(["check-config", str(site / "receiver.toml")])

    code, out, err = in_child(tmp_path, as_nobody)
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 3, err
    for line in lines:
        assert f"{site}/tls/" in line and "not readable by nobody" in line
        assert "run the check with sudo" in line


def test_sudo_enrol_leaves_nothing_owned_by_root(site: Path, tmp_path: Path) -> None:
    """As root through sudo: the key file (the caller's, root-only) is read first, then the
    command becomes the unit's user: the SQLite store it makes is that user's, and the
    enrolment records the sudo caller."""
    node = SimNode("semarang-gudang-utara", "smg-utara-01")
    key = tmp_path / "smg-utara-01.pem"
    key.write_text(node.key.pem)
    key.chmod(0o600)

    def enrol() -> int:
        os.environ["SUDO_USER"] = "budi"
        argv = ["receive", "-c", str(site / "receiver.toml"), "enrol",
                f"{node.site}/{node.node}", str(key)]  # fmt: skip
        return main(argv)

    code, out, err = in_child(tmp_path, enrol)
    assert code == 0, out + err
    assert f"enrolled {node.site}/{node.node} key {node.key.id}" in out
    uid = pwd.getpwnam(USER).pw_uid
    files = [site / "data", *(site / "data").rglob("*")]
    assert files[1:] and all(p.stat().st_uid == uid for p in files), files
    store = ReceiverStore(f"sqlite:///{site / 'data/receiver.db'}", site / "data")
    try:
        (enrolled,) = keys.history(store.db, node.site, node.node)
        assert enrolled.enrolled_by == "budi"
    finally:
        store.close()


def test_not_root_or_root_owned_data_changes_nothing(tmp_path: Path) -> None:
    """Root with a data directory of its own and no unit: stays root, hands nothing over."""
    need_root()
    done = asservice.become_service(tmp_path / "none.toml", tmp_path, credentials=True)
    assert not done.changed and os.geteuid() == 0


def test_check_config_with_credentials_or_of_another_file_stays_root(
    site: Path, tmp_path: Path
) -> None:
    """Ansible's validate (root, --credentials, a candidate file no unit runs) checks as
    the caller: the root-only TLS files load, the data directory is another user's."""
    candidate = tmp_path / "candidate.toml"
    shutil.copy(site / "receiver.toml", candidate)
    for path in (candidate, site / "receiver.toml"):

        def check(path: Path = path) -> int:
            code = main(["check-config", "--credentials", str(site / "tls"), str(path)])
            return code if os.geteuid() == 0 else 99

        code, out, err = in_child(tmp_path, check)
        assert code == 0, out + err


def test_drop_ins_override_the_unit(site: Path) -> None:
    """A drop-in (NAME.d/*.conf) applies after the unit: an empty LoadCredential= clears
    the list, later lines add; User= is replaced."""
    drop = site / "units/test-receiver.service.d"
    drop.mkdir()
    (drop / "10-site.conf").write_text(
        "[Service]\nUser=daemon\nLoadCredential=\nLoadCredential=x.crt:/etc/x.crt\n"
    )
    unit = serviceunit.unit_for(site / "receiver.toml")
    assert unit is not None and unit.user == "daemon"
    assert unit.credentials == {"x.crt": Path("/etc/x.crt")}


def test_status_needs_no_credentials_and_json_is_json(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A node config with credential: TLS paths, run by a unit: `edge status --json` needs
    no $CREDENTIALS_DIRECTORY (no daemon here: exit 3, one JSON object); a config that
    cannot be loaded still gives one JSON object on stdout (exit 2), the faults on stderr."""
    node = site / "node.toml"
    node.write_text(
        f'[node]\nid = "n1"\nsite = "s1"\ndata_dir = "{tmp_path / "data"}"\n'
        '[[destinations]]\nname = "police"\nhost = "h"\n'
        'tls = { ca = "credential:police-ca.crt", cert = "credential:receiver.crt", '
        'key = "credential:receiver.key" }\n'
    )
    unit = UNIT.format(config=node, tls=site / "tls").replace("User=nobody\nGroup=nogroup\n", "")
    (site / "units/test-receiver.service").write_text(unit)
    capsys.readouterr()
    assert main(["status", "--config", str(node), "--json"]) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["running"] is False and out["exit"] == 3
    (site / "units/test-receiver.service").unlink()  # no unit: the credentials are missing
    with pytest.raises(SystemExit) as exited:
        main(["status", "--config", str(node), "--json"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["exit"] == 2
    assert "needs $CREDENTIALS_DIRECTORY" in captured.err
