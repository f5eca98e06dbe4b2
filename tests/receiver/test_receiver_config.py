"""`edge check-config` on a receiver config (a file with a [receiver] table): the model is
validated as ReceiverConfig, then the broker's TLS files and the data directory are checked;
each fault is one line naming the key, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.demo.pki import DemoCA


def _toml(data_dir: Path, ca: DemoCA, *, receiver: str = "", broker: str | None = None) -> str:
    """receiver.toml text with mutual TLS from *ca*; *receiver* adds lines to [receiver],
    *broker* replaces the whole [broker] part."""
    if broker is None:
        pair = ca.issue("receiver-polda-jateng-1")
        broker = (
            '[broker]\nhost = "mqtt.polda-jateng.example"\n'
            f'[broker.tls]\nca = "{ca.ca_path}"\ncert = "{pair.cert}"\nkey = "{pair.key}"\n'
        )
    return (
        f'[receiver]\nname = "polda-jateng-1"\ndata_dir = "{data_dir}"\n{receiver}\n{broker}'
        "[supervision]\noffline_after_s = 90\n"
    )


def _check(tmp_path: Path, text: str, *flags: str) -> int:
    """Write *text* to receiver.toml and run `edge check-config` on it; the exit status."""
    path = tmp_path / "receiver.toml"
    path.write_text(text)
    return main(["check-config", *flags, str(path)])


def test_valid_receiver_config_passes(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """A receiver config with loadable TLS files and a creatable data directory exits 0 with a
    one-line summary naming the receiver and its broker."""
    assert _check(tmp_path, _toml(tmp_path / "data", ca)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("\n") == 1
    assert "OK: receiver polda-jateng-1" in out
    assert "mqtt.polda-jateng.example:8883 (mutual TLS)" in out
    assert "store sqlite" in out and "checked" in out


def test_valid_receiver_config_as_json(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints one object saying it is a receiver config, without the store's URL."""
    text = _toml(tmp_path / "data", ca, receiver='store = "postgresql://rx:secret@db/rx"')
    assert _check(tmp_path, text, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True
    assert result["receiver"] == "polda-jateng-1"
    assert result["store"] == "postgresql"
    assert "secret" not in json.dumps(result)


def test_unknown_key_exits_2_naming_it(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown key in [receiver] is an error naming receiver.bogus (a typo is never
    silently ignored)."""
    assert _check(tmp_path, _toml(tmp_path / "data", ca, receiver="bogus = 1")) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "receiver.bogus: unknown key" in err
    assert all(line.startswith(str(tmp_path)) for line in err.splitlines())


def test_wrong_store_exits_2_naming_receiver_store(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store that is neither 'sqlite' nor a postgresql:// URL names receiver.store."""
    text = _toml(tmp_path / "data", ca, receiver='store = "mysql://rx@db/rx"')
    assert _check(tmp_path, text) == 2
    assert "receiver.store: must be 'sqlite' or a postgresql:// URL" in capsys.readouterr().err


def test_missing_tls_file_exits_2_naming_broker_tls_ca(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CA file that is not there names broker.tls.ca and the path."""
    missing = tmp_path / "tls" / "polda-ca.crt"
    broker = f'[broker]\nhost = "mqtt.polda-jateng.example"\n[broker.tls]\nca = "{missing}"\n'
    assert _check(tmp_path, _toml(tmp_path / "data", ca, broker=broker)) == 2
    err = capsys.readouterr().err
    assert f"broker.tls.ca: file not found: {missing}" in err


def test_missing_tls_file_passes_with_no_preflight(tmp_path: Path, ca: DemoCA) -> None:
    """--no-preflight checks the file only: a TLS file missing on this machine is not a fault
    (to check a config away from its receiver)."""
    broker = f'[broker]\nhost = "h"\n[broker.tls]\nca = "{tmp_path / "nowhere.crt"}"\n'
    assert _check(tmp_path, _toml(tmp_path / "data", ca, broker=broker), "--no-preflight") == 0


def test_unusable_ca_file_exits_2_naming_broker_tls_ca(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CA file that is not a certificate is named as broker.tls.ca."""
    bad = tmp_path / "ca.crt"
    bad.write_text("not a certificate\n")
    broker = f'[broker]\nhost = "h"\n[broker.tls]\nca = "{bad}"\n'
    assert _check(tmp_path, _toml(tmp_path / "data", ca, broker=broker)) == 2
    assert "broker.tls.ca: not a usable CA certificate" in capsys.readouterr().err


def test_broker_without_tls_or_allow_insecure_exits_2(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """[broker] with neither tls nor allow_insecure is refused, naming broker; with
    allow_insecure = true it passes as a plain link."""
    plain = '[broker]\nhost = "localhost"\nport = 1883\n'
    assert _check(tmp_path, _toml(tmp_path / "data", ca, broker=plain)) == 2
    assert "broker: tls is required" in capsys.readouterr().err
    lab = plain + "allow_insecure = true\n"
    assert _check(tmp_path, _toml(tmp_path / "data", ca, broker=lab)) == 0
    assert "(plain (allow_insecure))" in capsys.readouterr().out


def test_data_dir_that_cannot_be_made_exits_2(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data directory below a regular file can never be created: receiver.data_dir."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert _check(tmp_path, _toml(blocker / "data", ca)) == 2
    err = capsys.readouterr().err
    assert f"receiver.data_dir: cannot create {blocker / 'data'}" in err


def test_data_dir_that_is_a_file_exits_2(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data directory that is a file is named, and the SQLite store in it is not checked."""
    data = tmp_path / "data"
    data.write_text("")
    assert _check(tmp_path, _toml(data, ca)) == 2
    err = capsys.readouterr().err
    assert f"receiver.data_dir: {data} is not a directory" in err
    assert "receiver.store" not in err


def test_sqlite_store_that_is_a_directory_exits_2(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """DATA_DIR/receiver.db that is not a regular file is named as receiver.store."""
    data = tmp_path / "data"
    (data / "receiver.db").mkdir(parents=True)
    assert _check(tmp_path, _toml(data, ca)) == 2
    assert "receiver.store:" in capsys.readouterr().err


def test_every_problem_is_reported_at_once(
    tmp_path: Path, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing TLS file and an unusable data directory are both reported, one line each."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    broker = f'[broker]\nhost = "h"\n[broker.tls]\nca = "{tmp_path / "nowhere.crt"}"\n'
    assert _check(tmp_path, _toml(blocker / "data", ca, broker=broker)) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "broker.tls.ca" in lines[0] and "receiver.data_dir" in lines[1]


def test_a_node_config_still_takes_the_node_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a [receiver] table the file is a node config: a receiver key in it is unknown
    there, and the message is the node loader's."""
    text = '[node]\nid = "wh-01"\nsite = "smg"\ndata_dir = "/tmp/x"\n[broker]\nhost = "h"\n'
    assert _check(tmp_path, text, "--no-preflight") == 2
    assert "broker: unknown key" in capsys.readouterr().err
