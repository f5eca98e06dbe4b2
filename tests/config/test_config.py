"""Config validation: good files load; each kind of bad file names the place and exits 2."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest
from configmodels import config_models

from edge.cli.main import main
from edge.config.base import Section
from edge.config.loader import ConfigError, load, loads

GOOD = """
[node]
id = "wh-01"
site = "ams-north"
data_dir = "/tmp/edge-test"

[[cameras]]
name = "hall"
fps = 5
detect = { kind = "file", path = "video.mp4" }

[[cameras]]
name = "gate"
fps = 2.5
detect = { kind = "rtsp", url = "rtsp://10.0.0.5/sub" }
record = { kind = "rtsp", url = "rtsp://10.0.0.5/main" }

[[sensors]]
name = "door-1"
kind = "door"
pin = 17
cameras = ["hall"]

[[destinations]]
name = "police"
host = "broker.police.example"
tls = { ca = "ca.pem", cert = "node.pem", key = "node.key" }
kinds = ["door_open", "person"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "node.toml"
    p.write_text(text)
    return p


def test_good_config_loads_with_defaults() -> None:
    """A complete file validates; omitted values take their documented defaults."""
    cfg = loads(GOOD)
    assert cfg.node.id == "wh-01"
    assert [c.name for c in cfg.cameras] == ["hall", "gate"]
    assert cfg.cameras[0].record == cfg.cameras[0].detect  # record defaults to detect
    assert cfg.cameras[1].record is not None and cfg.cameras[1].record.kind == "rtsp"
    assert cfg.destinations[0].port == 8883
    assert cfg.outbox_path == Path("/tmp/edge-test/outbox.sqlite")


def test_check_config_good_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`edge check-config` on a good file exits 0 and says what it found."""
    assert main(["check-config", "--no-preflight", str(_write(tmp_path, GOOD))]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "2 camera(s)" in out


BROKEN = {
    "missing key": (
        GOOD.replace('site = "ams-north"\n', ""),
        "node.site: required key is missing",
    ),
    "wrong type": (
        GOOD.replace("pin = 17", 'pin = "seventeen"'),
        "sensors[0].pin: must be an integer, got 'seventeen'",
    ),
    "out of range": (
        GOOD.replace("fps = 2.5", "fps = -5"),
        "cameras[1].fps: must be > 0, got -5",
    ),
    "unknown key": (
        GOOD.replace('name = "hall"\n', 'name = "hall"\nfsp = 4\n'),
        "cameras[0].fsp: unknown key; did you mean 'fps'?",
    ),
    "toml syntax": (
        GOOD.replace('id = "wh-01"', 'id = "wh-01'),
        "TOML syntax error",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_config_broken_exits_2_naming_the_place(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each kind of fault exits 2 with a message naming the file, the key and the problem."""
    text, expected = BROKEN[case]
    path = _write(tmp_path, text)
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert expected in err


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    """A TOML syntax error says on which line it is."""
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, GOOD.replace('id = "wh-01"', 'id = "wh-01')))
    assert "line 3" in str(info.value)


def test_check_config_json_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json reports all problems at once, not only the first."""
    text = GOOD.replace("fps = 2.5", "fps = 0").replace("pin = 17", "pin = 99")
    assert main(["check-config", "--json", str(_write(tmp_path, text))]) == 2
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False
    assert any(p.startswith("cameras[1].fps: must be > 0") for p in result["problems"])
    assert any(p.startswith("sensors[0].pin: must be < 28") for p in result["problems"])


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A config path that does not exist is reported as such."""
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.toml")


def test_two_sensors_on_one_pin_names_both() -> None:
    """Two devices on one pin: the error names both sensors."""
    text = GOOD + '\n[[sensors]]\nname = "smoke-1"\nkind = "smoke"\npin = 17\n'
    with pytest.raises(ConfigError) as info:
        loads(text)
    msg = str(info.value)
    assert "sensors[1].pin: GPIO17 is already used by sensors[0] ('door-1')" in msg
    assert "'smoke-1'" in msg


def test_sensor_linked_to_unknown_camera() -> None:
    """A sensor linked to a camera that does not exist is rejected, naming it."""
    with pytest.raises(ConfigError, match=r"sensors\[0\].cameras: no camera named 'yard'"):
        loads(GOOD.replace('cameras = ["hall"]', 'cameras = ["yard"]'))


def test_misspelt_destination_kind_is_refused_with_a_suggestion() -> None:
    """A typo in a destination's kinds would share nothing silently: it is an error naming
    the key, the kind and the nearest known kind (kinds come from one enum)."""
    typo = GOOD.replace('kinds = ["door_open"', 'kinds = ["persn", "door_open"')
    with pytest.raises(ConfigError, match=r"destinations\[0\].kinds: .*'persn'.*'person'"):
        loads(typo)
    known = loads(GOOD.replace('kinds = ["door_open"', 'kinds = ["clip", "snapshot", "door_open"'))
    assert "clip" in known.destinations[0].kinds


def test_plain_mqtt_needs_allow_insecure() -> None:
    """A destination without TLS is refused unless allow_insecure is set explicitly."""
    plain = GOOD.replace('tls = { ca = "ca.pem", cert = "node.pem", key = "node.key" }\n', "")
    with pytest.raises(ConfigError, match=r"destinations\[0\]: tls is required"):
        loads(plain)
    allowed = plain.replace('kinds = ["door_open"', 'allow_insecure = true\nkinds = ["door_open"')
    cfg = loads(allowed)
    assert cfg.destinations[0].tls is None


def test_unverified_tls_needs_allow_insecure() -> None:
    """Turning hostname verification off also needs the explicit flag."""
    text = GOOD.replace('key = "node.key" }', 'key = "node.key", verify_hostname = false }')
    with pytest.raises(ConfigError, match="verify_hostname = false requires allow_insecure"):
        loads(text)


def test_unknown_source_kind_lists_the_kinds() -> None:
    """A camera source of an unknown kind says which kinds exist."""
    expected = r"cameras\[0\].detect: kind must be one of 'file', 'rtsp'"
    with pytest.raises(ConfigError, match=expected):
        loads(GOOD.replace('kind = "file"', 'kind = "webcam"'))


def test_credentials_come_from_systemd_credentials_directory(tmp_path: Path) -> None:
    """`credential:NAME` paths resolve against $CREDENTIALS_DIRECTORY."""
    text = GOOD.replace('key = "node.key"', 'key = "credential:node.key"')
    cfg = loads(text, env={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    tls = cfg.destinations[0].tls
    assert tls is not None and tls.key == str(tmp_path / "node.key")
    with pytest.raises(ConfigError, match=r"destinations\[0\].tls.key: .*CREDENTIALS_DIRECTORY"):
        loads(text, env={})


def test_every_field_has_a_description_and_numbers_have_bounds() -> None:
    """Each config field documents itself; each number has a lower and an upper bound."""
    models = config_models()
    assert len(models) >= 10
    for model in models:
        assert issubclass(model, Section), model
        assert model.model_config.get("extra") == "forbid", model
        for name, f in model.model_fields.items():
            assert f.description, f"{model.__name__}.{name} has no description"
            base = [a for a in typing.get_args(f.annotation) if a is not type(None)] or [
                f.annotation
            ]
            if base[0] in (int, float):
                kinds = {type(m).__name__ for m in f.metadata}
                assert kinds & {"Gt", "Ge"}, f"{model.__name__}.{name} has no lower bound"
                assert kinds & {"Lt", "Le"}, f"{model.__name__}.{name} has no upper bound"


def test_example_config_is_valid(tmp_path: Path) -> None:
    """The example a technician starts from passes check-config."""
    example = Path(__file__).resolve().parents[2] / "firmware_config" / "node.example.toml"
    args = ["check-config", "--no-preflight", "--credentials", str(tmp_path), str(example)]
    assert main(args) == 0
