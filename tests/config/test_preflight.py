"""`edge check-config` checks what `edge run` needs from the machine: TLS files present, parsed,
private and matching; data directory and outbox usable; the model loads; the node's signing key
loads. Every problem is one line naming the key (or the file), all of them at once, exit 2."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SHARED
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from signingkey import write_signing_key

from edge.cli.main import main
from edge.config.preflight import preflight
from edge.config.root import EdgeConfig
from edge.demo.pki import CertPair, DemoCA

pytestmark = pytest.mark.faults

MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"


def node_toml(
    data_dir: Path,
    ca: Path | str,
    pair: CertPair,
    *,
    key: Path | None = None,
    model: Path | None = None,
    extra: str = "",
) -> str:
    """A node with one mutual-TLS destination and, with *model*, the ONNX detector."""
    text = f"""
[node]
id = "wh-01"
site = "ams"
data_dir = "{data_dir}"

[[destinations]]
name = "police"
host = "broker.police.example"
tls = {{ ca = "{ca}", cert = "{pair.cert}", key = "{key or pair.key}" }}
"""
    if model is not None:
        text += f'\n[detector]\nbackend = "onnx"\nmodel = "{model}"\n'
    return text + extra


Check = Callable[..., tuple[int, list[str]]]


@pytest.fixture
def check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Check:
    """Run `edge check-config` on a config text; (exit code, lines on stderr)."""

    def run(text: str, *args: str) -> tuple[int, list[str]]:
        path = tmp_path / "node.toml"
        path.write_text(text)
        code = main(["check-config", *args, str(path)])
        err = capsys.readouterr().err
        prefix = f"{path}: "
        lines = err.splitlines()
        assert all(line.startswith(prefix) for line in lines), err
        return code, [line.removeprefix(prefix) for line in lines]

    return run


@pytest.fixture
def files(tmp_path: Path, ca: DemoCA, node_cert: CertPair) -> dict[str, Path]:
    """A data directory holding the node's signing key, the session CA and a copy of the
    node's TLS pair."""
    pair_dir = tmp_path / "tls"
    pair_dir.mkdir()
    cert, key = pair_dir / "node.crt", pair_dir / "node.key"
    cert.write_bytes(node_cert.cert.read_bytes())
    key.write_bytes(node_cert.key.read_bytes())
    key.chmod(0o600)
    data = tmp_path / "state"
    write_signing_key(data)
    return {"data": data, "ca": ca.ca_path, "cert": cert, "key": key}


def _good(files: dict[str, Path], *, key: Path | None = None, model: Path | None = None) -> str:
    pair = CertPair(files["cert"], files["key"])
    return node_toml(files["data"], files["ca"], pair, key=key, model=model)


def test_a_node_whose_files_are_all_usable_passes(files: dict[str, Path], check: Check) -> None:
    """Real CA, a private key of the certificate, a data directory with the node's signing
    key and the real yolox_nano model: exit 0, and checking creates nothing."""
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} not present")
    before = sorted(files["data"].rglob("*"))
    code, err = check(_good(files, model=MODEL))
    assert (code, err) == (0, [])
    assert sorted(files["data"].rglob("*")) == before


def test_missing_ca_file_is_named(files: dict[str, Path], check: Check, tmp_path: Path) -> None:
    """A CA path that does not exist: the key and the path, exit 2."""
    files["ca"] = tmp_path / "absent-ca.crt"
    code, err = check(_good(files))
    assert code == 2
    assert err == [f"destinations[0].tls.ca: file not found: {files['ca']}"]


def test_a_ca_file_that_is_no_certificate(files: dict[str, Path], check: Check) -> None:
    """A CA file holding a private key is not a CA certificate."""
    files["ca"] = files["key"]
    code, err = check(_good(files))
    assert code == 2
    assert len(err) == 1 and err[0].startswith(
        f"destinations[0].tls.ca: {files['key']} is not a CA certificate in PEM"
    )


def test_certificate_given_as_the_key(files: dict[str, Path], check: Check) -> None:
    """The certificate written where the key belongs: named as such."""
    code, err = check(_good(files, key=files["cert"]))
    assert code == 2
    assert err == [
        f"destinations[0].tls.key: {files['cert']} is not a PEM private key "
        "(it holds a certificate)"
    ]


def test_key_of_another_certificate(files: dict[str, Path], check: Check, ca: DemoCA) -> None:
    """A private key that does not belong to the certificate (another pair from the same CA)."""
    other = ca.issue("someone-else")
    code, err = check(_good(files, key=other.key))
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"destinations[0].tls.key: {other.key} does not belong to")


def test_tls_key_readable_by_others_is_refused(files: dict[str, Path], check: Check) -> None:
    """A TLS private key with mode 0644: refused with the mode and the fix."""
    files["key"].chmod(0o644)
    code, err = check(_good(files))
    assert code == 2
    assert err == [
        f"destinations[0].tls.key: {files['key']} is readable by others (mode 644): chmod 600 it"
    ]


def test_encrypted_tls_key_is_refused(files: dict[str, Path], check: Check) -> None:
    """A passphrase-protected key would make the node wait for a passphrase at every start."""
    key = serialization.load_pem_private_key(files["key"].read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    files["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    code, err = check(_good(files))
    assert code == 2
    assert err[0].startswith(f"destinations[0].tls.key: {files['key']} is encrypted")


def test_data_dir_that_is_a_file(files: dict[str, Path], check: Check, tmp_path: Path) -> None:
    """node.data_dir naming a file: one line, not one per path inside it."""
    files["data"] = tmp_path / "a-file"
    files["data"].write_text("not a directory")
    code, err = check(_good(files))
    assert code == 2
    assert err == [f"node.data_dir: {files['data']} is not a directory"]


def _unwritable(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Make *path* read-only; as root (who may write anyway) the check sees it as the service
    user would, through os.access on the mode bits."""
    path.chmod(0o555)
    if os.geteuid() == 0:
        real = os.access

        def access(p: str | os.PathLike[str], mode: int, **kw: bool) -> bool:
            if mode & os.W_OK and not Path(p).stat().st_mode & stat.S_IWUSR:
                return False
            return real(p, mode, **kw)

        monkeypatch.setattr(os, "access", access)


def test_data_dir_not_writable(
    files: dict[str, Path], check: Check, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data directory the service cannot write, or cannot create: named, with the fix."""
    _unwritable(monkeypatch, files["data"])
    try:
        code, err = check(_good(files))
        assert code == 2
        assert len(err) == 1
        assert err[0].startswith(f"node.data_dir: {files['data']} is not writable by ")
        assert err[0].endswith(": chown or chmod it")
        missing = files["data"] / "sub"
        code, err = check(_good({**files, "data": missing}))
        assert code == 2
        assert err[0].startswith(f"node.data_dir: {missing} does not exist and ")
    finally:
        files["data"].chmod(0o755)


def test_outbox_path_that_is_a_directory(
    files: dict[str, Path], check: Check, tmp_path: Path
) -> None:
    """outbox.path naming a directory (the outbox is one SQLite file)."""
    box = tmp_path / "outbox"
    box.mkdir()
    code, err = check(_good(files) + f'\n[outbox]\npath = "{box}"\n')
    assert code == 2
    assert err == [f"outbox.path: {box} is a directory, not an SQLite file"]


def test_missing_model_file(files: dict[str, Path], check: Check, tmp_path: Path) -> None:
    """A model path that does not exist."""
    model = tmp_path / "absent.onnx"
    code, err = check(_good(files, model=model))
    assert (code, err) == (2, [f"detector.model: model not found: {model}"])


def test_garbage_model_file(files: dict[str, Path], check: Check, tmp_path: Path) -> None:
    """A file that is no ONNX model: the loader's reason, on one line."""
    model = tmp_path / "garbage.onnx"
    model.write_bytes(b"\x00 not a model \n" * 64)
    code, err = check(_good(files, model=model))
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"detector.model: cannot load model {model}")


def test_onnx_model_that_is_no_detector(
    files: dict[str, Path], check: Check, tmp_path: Path
) -> None:
    """A valid ONNX file that is not a detector (a flat input): refused by loading it."""
    onnx = pytest.importorskip("onnx")
    h = onnx.helper
    graph = h.make_graph(
        [h.make_node("Identity", ["x"], ["y"])],
        "flat",
        [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 10])],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 10])],
    )
    model = tmp_path / "flat.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 13)], ir_version=8), model)
    code, err = check(_good(files, model=model))
    assert code == 2
    assert err == [f"detector.model: {model}: expected a square NCHW input, got [1, 10]"]


def test_missing_signing_key_is_reported_never_made(
    files: dict[str, Path], check: Check, tmp_path: Path
) -> None:
    """A node without its signing key cannot start: check-config says how to make it, and
    makes none itself."""
    key = files["data"] / "keys" / "node-ed25519.pem"
    key.unlink()
    code, err = check(_good(files))
    assert code == 2
    assert err == [
        f"{key}: the node's signing key is missing: restore it from backup, or for a new node "
        f"make it once with edge keys init --config {tmp_path / 'node.toml'}"
    ]
    assert not key.exists()


def test_signing_key_readable_by_others(files: dict[str, Path], check: Check) -> None:
    """The node's signing key with mode 0644 is refused as `edge run` refuses it."""
    key = files["data"] / "keys" / "node-ed25519.pem"
    key.chmod(0o644)
    code, err = check(_good(files))
    assert code == 2
    assert len(err) == 1 and err[0].startswith(f"{key}: ") and "chmod 600" in err[0]


def test_signing_key_that_is_not_ed25519(files: dict[str, Path], check: Check) -> None:
    """A signing key of the wrong kind (the TLS key copied over it)."""
    key = files["data"] / "keys" / "node-ed25519.pem"
    key.write_bytes(files["key"].read_bytes())
    code, err = check(_good(files))
    assert code == 2
    assert err == [f"{key}: not an Ed25519 key"]


def test_every_problem_at_once_and_json_alone_on_stdout(
    files: dict[str, Path],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--json: stdout holds exactly one JSON document listing every problem, even when the
    model loader writes to stdout itself (from Python and from native code)."""
    from edge.analysis.detect import factory
    from edge.analysis.detect.onnx import ModelError

    def chatty_loader(_cfg: object) -> object:
        print("Loading model...")
        os.write(1, b"native chatter\n")
        raise ModelError("cannot load model: chatty")

    monkeypatch.setattr(factory, "build_detector", chatty_loader)
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    files["key"].chmod(0o640)
    files["ca"] = tmp_path / "absent-ca.crt"
    path = tmp_path / "node.toml"
    path.write_text(_good(files, model=model))
    assert main(["check-config", "--json", str(path)]) == 2
    out, err = capfd.readouterr()
    result = json.loads(out)
    assert result["ok"] is False and result["file"] == str(path)
    assert [p.split(":", 1)[0] for p in result["problems"]] == [
        "destinations[0].tls.ca",
        "destinations[0].tls.key",
        "detector.model",
    ]
    assert "Loading model" in err and "native chatter" in err


def test_preflight_without_a_loader_checks_only_the_model_file(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """`edge run` loads the model once, when it builds the node: its preflight only checks the
    file, and a config without problems has none."""
    from edge.config.loader import loads

    model = tmp_path / "garbage.onnx"
    model.write_bytes(b"x")
    cfg: EdgeConfig = loads(_good(files, model=model))
    assert preflight(cfg) == []
    assert preflight(cfg, load_model=lambda _d: None) == []
