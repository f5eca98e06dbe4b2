"""`edge run` with a configuration it cannot run says why in one line of stderr per problem,
naming the file and what to do, and exits 2, never with a traceback: systemd's
RestartPreventExitStatus=2 then leaves it stopped instead of looping. The node's own state
(signing key, audit log) does not stop it (tests/node/test_life_safety.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pinned import PinnedNode
from signingkey import write_signing_key

from edge.cli.common import EXIT_STATE, EXIT_USAGE
from edge.cli.run import start_failure
from edge.core.errors import (
    ConfigurationError,
    DetectorError,
    EdgeError,
    EvidenceError,
    OutboxError,
    SensorError,
    TransportError,
)
from edge.demo.pki import CertPair, DemoCA

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "warehouse-edge.service"


def _config(tmp_path: Path, ca: Path, pair: CertPair, extra: str = "") -> Path:
    """A node with one mutual-TLS destination, its state in tmp_path/state."""
    path = tmp_path / "node.toml"
    path.write_text(
        f"""
[node]
id = "wh-01"
site = "ams"
data_dir = "{tmp_path / "state"}"

[logging]
format = "json"

[[destinations]]
name = "police"
host = "127.0.0.1"
port = 1
tls = {{ ca = "{ca}", cert = "{pair.cert}", key = "{pair.key}" }}
{extra}"""
    )
    return path


def _run(config: Path) -> tuple[int, list[str]]:
    """`python -m edge run --config CONFIG` to its end (it must not start): (code, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=config.parent,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""
    return proc.returncode, proc.stderr.splitlines()


def test_missing_ca_file_exits_2_in_one_line(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair
) -> None:
    """A CA file that is not there: exit 2, one line naming the config, the key and the path."""
    config = _config(tmp_path, tmp_path / "absent-ca.crt", node_cert)
    code, err = _run(config)
    assert code == EXIT_USAGE
    assert err == [f"{config}: destinations[0].tls.ca: file not found: {tmp_path}/absent-ca.crt"]


def test_every_configuration_problem_at_once(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair
) -> None:
    """A data directory that is a file, the certificate given as the key and an outbox path
    that is a directory: one line each, exit 2, and no state is made."""
    (tmp_path / "state").write_text("a file")
    (tmp_path / "box").mkdir()
    as_key = CertPair(node_cert.cert, node_cert.cert)
    config = _config(tmp_path, ca.ca_path, as_key, f'\n[outbox]\npath = "{tmp_path / "box"}"\n')
    code, err = _run(config)
    assert code == EXIT_USAGE
    assert err == [
        f"{config}: node.data_dir: {tmp_path / 'state'} is not a directory",
        f"{config}: outbox.path: {tmp_path / 'box'} is a directory, not an SQLite file",
        f"{config}: destinations[0].tls.key: {node_cert.cert} is not a PEM private key "
        "(it holds a certificate)",
    ]


def test_deeply_nested_toml_exits_2_naming_the_file(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair
) -> None:
    """100,000 nested arrays: a one-line config error, not a RecursionError."""
    config = _config(tmp_path, ca.ca_path, node_cert)
    config.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n" + config.read_text())
    code, err = _run(config)
    assert code == EXIT_USAGE
    assert len(err) == 1 and err[0].startswith(f"{config}: ") and "nested too deeply" in err[0]


def test_garbage_model_exits_2_when_the_node_is_built(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair
) -> None:
    """A model file that does not load (found when the node loads it, once): exit 2, one line
    with the loader's reason and what to do."""
    write_signing_key(tmp_path / "state")
    model = tmp_path / "garbage.onnx"
    model.write_bytes(b"\x00 not a model\n" * 64)
    extra = f'\n[detector]\nbackend = "onnx"\nmodel = "{model}"\n'
    config = _config(tmp_path, ca.ca_path, node_cert, extra)
    code, err = _run(config)
    assert code == EXIT_USAGE
    assert len(err) == 1
    assert err[0].startswith(f"{config}: cannot start: cannot load model {model}")
    assert err[0].endswith("check it with edge check-config")


@pytest.mark.parametrize("state", ["key readable by others", "TLS key as signing key"])
def test_an_unusable_signing_key_does_not_stop_the_node(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, state: str
) -> None:
    """A signing key with mode 0644, or the TLS key copied over it, is node state, not a
    reason to stop: the node runs (sensors and sirens with it), STATUS= names the key and why
    it is not used, the file is left as it is; SIGTERM stops it with 0."""
    key = write_signing_key(tmp_path / "state", mode=0o644)
    if state == "TLS key as signing key":
        key.chmod(0o600)
        key.write_bytes(node_cert.key.read_bytes())
    before = key.read_bytes()
    config = _config(tmp_path, ca.ca_path, node_cert)
    node = PinnedNode(config).start()
    try:
        assert node.wait_status(f"signing_key_unusable:{key}", 60), node.tail()
        problem = node.records("node.degraded")[0]["problem"]
        assert ("chmod 600" if state == "key readable by others" else "not an Ed25519") in problem
    finally:
        node.send(signal.SIGTERM)
        assert node.wait(30) == 0, node.tail()
    assert key.read_bytes() == before


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigurationError("x"), EXIT_USAGE),
        (DetectorError("x"), EXIT_USAGE),
        (TransportError("x"), EXIT_USAGE),
        (EvidenceError("x"), EXIT_STATE),
        (OutboxError("x"), EXIT_STATE),
        (SensorError("x"), EXIT_STATE),
    ],
)
def test_build_errors_map_to_documented_codes(error: EdgeError, code: int) -> None:
    """An EdgeError while building the node: configuration concerns exit 2, the rest 3; each
    gets advice, but for the signing key and audit log, whose errors carry their own."""
    got, advice = start_failure(error)
    assert got == code
    assert bool(advice) != isinstance(error, EvidenceError)


def test_unit_does_not_restart_a_refused_start() -> None:
    """The unit leaves exit 2 (configuration) alone; Restart=always restarts everything else,
    exit 3 included (a node state that may heal; `edge run` no longer stops for one)."""
    lines = UNIT.read_text().splitlines()
    assert "RestartPreventExitStatus=2" in lines
    assert "Restart=always" in lines
