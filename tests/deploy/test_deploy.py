"""The Ansible role: valid syntax, clean under ansible-lint, and a template that renders a
config `edge check-config` accepts."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]
from debroot import lint_deploy
from pydantic import BaseModel
from rolerender import ROLE, render

from edge.cli.main import main
from edge.config.cameras import CameraConfig
from edge.config.root import EdgeConfig
from edge.config.rules import RulesConfig
from edge.config.sensors import OutputConfig, SensorConfig
from edge.config.transport import DestinationConfig

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PLAYBOOKS = ("site.yml", "bake.yml", "broker.yml", "receiver.yml", "revoke.yml")


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert path, f"{name} not installed (pip extra 'deploy')"
    return path


def test_playbook_syntax_and_lint(tmp_path: Path) -> None:
    """`ansible-playbook --syntax-check` passes on site.yml, bake.yml and the police hosts'
    playbooks, and `ansible-lint --profile production` on all of deploy/ (roles, playbooks)."""
    inv = tmp_path / "inv.ini"
    inv.write_text("[edge_nodes]\nnode1 ansible_connection=local\n[receivers]\nrx1\n")
    syntax = subprocess.run(
        [_tool("ansible-playbook"), "-i", str(inv), "--syntax-check", *PLAYBOOKS],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=False,
    )
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = lint_deploy()
    assert lint.returncode == 0, lint.stdout + lint.stderr


LEGACY_VARS = """
warehouse_edge_node_id: wh-01
warehouse_edge_site: ams
warehouse_edge_police_host: mqtt.police.example
warehouse_edge_police_port: 8883
warehouse_edge_timezone: Asia/Jakarta
warehouse_edge_cameras:
  - {name: bay, detect: "rtsp://10.0.0.2/sub", record: "rtsp://10.0.0.2/main", fps: 4}
  - {name: office, private: true, detect: "rtsp://10.0.0.3/sub"}
warehouse_edge_sensors:
  - {name: door, kind: door, pin: 17, cameras: [bay]}
"""
"""The variables the role had before the node config mirrored node.toml."""
FULL_VARS = """
warehouse_edge_node_id: gudang-01
warehouse_edge_site: semarang-gudang-utara
warehouse_edge_police_host: mqtt.polda-jateng.example
warehouse_edge_timezone: Asia/Jakarta
warehouse_edge_police: {kinds: ["*"], cameras: [gudang-a]}
warehouse_edge_destinations:
  - {name: operator, host: mqtt.operator.example, kinds: [smoke, camera_fault],
     tls: {ca: "credential:operator-ca.crt"}}
warehouse_edge_gpio_factory: mock
warehouse_edge_cameras:
  - name: gudang-a
    detect: rtsp://10.20.0.11/sub
    record: {kind: rtsp, url: "rtsp://10.20.0.11/main", open_timeout_s: 8.5}
    resolution: [1280, 720]
    privacy_masks:
      - {name: kantor kepala gudang, points: [[0, 0], [320.5, 0], [320, 240], [0, 240]]}
    zones:
      - {name: rak-a, points: [[400, 200], [1200, 200], [1200, 700], [400, 700]]}
    motion: {threshold: 30, ignore: [{name: jam, points: [[0, 600], [90, 600], [90, 700]]}]}
    detection: {region: motion}
warehouse_edge_sensors:
  - {name: pintu-a, kind: door, pin: 17, cameras: [gudang-a]}
warehouse_edge_outputs:
  - {name: sirene, kind: siren, pin: 22, kinds: [door_open, person], duration_s: 120}
  - {name: lampu, kind: status_led, pin: 23}
warehouse_edge_rules:
  schedules: [{name: jam-kerja, days: [mon, fri], start: "07:00", end: "17:00"}]
  arming:
    - {sensor: pintu-a, disarmed_during: [jam-kerja]}
    - {zone: gudang-a/rak-a}
warehouse_edge_config:
  logging: {level: debug}
  clips: {max_bytes: 4294967296, pre_roll_s: 3}
  health: {interval_s: 30}
"""
"""Every part of the node config set through the role's variables."""


def _check_config(tmp_path: Path, config: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir(exist_ok=True)
    assert main(["check-config", "--no-preflight", "--credentials", str(creds), str(config)]) == 0


def test_config_template_renders_a_valid_config(tmp_path: Path) -> None:
    """The role's earlier variables (cameras with name/detect/record/private/fps, sensors)
    still render a config check-config accepts, with what they said."""
    run, out = render(tmp_path, LEGACY_VARS)
    assert run.returncode == 0, run.stdout + run.stderr
    _check_config(tmp_path, out)
    cfg = tomllib.loads(out.read_text())
    assert cfg["cameras"][0]["record"] == {"kind": "rtsp", "url": "rtsp://10.0.0.2/main"}
    assert cfg["cameras"][0]["fps"] == 4 and cfg["cameras"][1]["private"] is True
    assert cfg["sensors"] == [{"name": "door", "kind": "door", "pin": 17, "cameras": ["bay"]}]
    assert cfg["rules"] == {"timezone": "Asia/Jakarta"} and "detector" not in cfg
    assert cfg["destinations"][0]["tls"]["key"] == "credential:node.key"


def test_every_part_of_the_node_config_reaches_node_toml(tmp_path: Path) -> None:
    """Masks with their resolution, zones, motion and detection settings, sensors, a siren
    and a status lamp, schedules and arming, the police destination's kinds and cameras, a
    second destination, the GPIO factory and the other sections all reach node.toml as
    given, and check-config accepts it (the bug: masks and resolution vanished)."""
    run, out = render(tmp_path, FULL_VARS)
    assert run.returncode == 0, run.stdout + run.stderr
    _check_config(tmp_path, out)
    cfg = tomllib.loads(out.read_text())
    want = yaml.safe_load(FULL_VARS)
    cam = cfg["cameras"][0]
    assert cam["privacy_masks"] == want["warehouse_edge_cameras"][0]["privacy_masks"]
    assert cam["resolution"] == [1280, 720] and cam["zones"][0]["name"] == "rak-a"
    assert cam["motion"] == want["warehouse_edge_cameras"][0]["motion"]
    assert cam["detect"] == {"kind": "rtsp", "url": "rtsp://10.20.0.11/sub"}
    assert cam["record"]["open_timeout_s"] == 8.5 and cam["detection"] == {"region": "motion"}
    assert cfg["outputs"] == want["warehouse_edge_outputs"]
    assert cfg["rules"] == {"timezone": "Asia/Jakarta", **want["warehouse_edge_rules"]}
    police, operator = cfg["destinations"]
    assert (police["kinds"], police["cameras"]) == (["*"], ["gudang-a"])
    assert operator == want["warehouse_edge_destinations"][0]
    assert cfg["gpio"] == {"factory": "mock"}
    for section, table in want["warehouse_edge_config"].items():
        assert cfg[section] == table


def test_a_misspelt_variable_or_key_fails_naming_it(tmp_path: Path) -> None:
    """`warehouse_edge_privacy_masks` (not a variable) and a camera's `privacy_mask` (not a
    key) fail the play before anything is written, naming each, the host and the fix."""
    bad = LEGACY_VARS.replace("fps: 4}", "fps: 4, privacy_mask: []}")
    bad += "warehouse_edge_privacy_masks: []\nwarehouse_edge_snesors: []\n"
    run, out = render(tmp_path, bad)
    assert run.returncode != 0 and not out.exists()
    text = run.stdout + run.stderr
    assert "host gudang-01: warehouse_edge_cameras[0] (bay): unknown key 'privacy_mask'" in text
    assert "(did you mean 'privacy_masks'?)" in text
    assert "warehouse_edge_privacy_masks: not a variable of the warehouse_edge role" in text
    assert "privacy_masks is a key inside warehouse_edge_cameras" in text
    assert "warehouse_edge_snesors" in text and "did you mean 'warehouse_edge_sensors'" in text


def test_argument_specs_check_types_and_nested_keys(tmp_path: Path) -> None:
    """meta/argument_specs.yml, as the role applies it (validate_argument_spec over the
    host's vars), refuses a camera's misspelt key and a wrongly typed value."""
    (tmp_path / "inv.ini").write_text("[edge_nodes]\ngudang-01 ansible_connection=local\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars/gudang-01.yml").write_text(
        LEGACY_VARS.replace("fps: 4}", "fps: 4, privacy_mask: []}").replace("8883", "port")
    )
    (tmp_path / "check.yml").write_text(f"""
- hosts: edge_nodes
  gather_facts: false
  tasks:
    - ansible.builtin.validate_argument_spec:
        argument_spec: "{{{{ (lookup('file', '{ROLE / "meta/argument_specs.yml"}') | from_yaml)
          .argument_specs.main.options }}}}"
""")
    argv = [_tool("ansible-playbook"), "-i", str(tmp_path / "inv.ini"), "-e"]
    argv += [f"ansible_python_interpreter={sys.executable}", str(tmp_path / "check.yml")]
    run = subprocess.run(argv, capture_output=True, text=True, check=False)
    text = run.stdout + run.stderr
    assert run.returncode != 0 and "privacy_mask" in text and "warehouse_edge_police_port" in text


def _one_type(tp: Any) -> Any:
    """*tp* without Annotated and Optional; None for a union of several (a raw option)."""
    if typing.get_origin(tp) is typing.Annotated:
        return _one_type(typing.get_args(tp)[0])
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _one_type(inner[0]) if len(inner) == 1 else None
    return tp


def _model_options(model: type[BaseModel], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The option tree a model's fields make (sub-models and lists of them nested)."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        target = _one_type(field.annotation)
        if typing.get_origin(target) is list:
            target = _one_type(typing.get_args(target)[0])
        is_model = isinstance(target, type) and issubclass(target, BaseModel)
        out[name] = _model_options(target) if is_model else {}
    return out


def _spec_tree(options: dict[str, Any]) -> dict[str, Any]:
    return {k: _spec_tree(v.get("options") or {}) for k, v in options.items()}


def test_argument_specs_follow_the_config_models() -> None:
    """The spec's keys for cameras, sensors, outputs, destinations, the police destination,
    rules and the other sections are the config models' fields, at every depth (a field
    added to edge/config fails here until the spec has it); every default is declared."""
    spec = yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    tree = _spec_tree(options)
    p = "warehouse_edge_"
    assert tree[p + "cameras"] == _model_options(CameraConfig)
    assert tree[p + "sensors"] == _model_options(SensorConfig)
    assert tree[p + "outputs"] == _model_options(OutputConfig)
    assert tree[p + "destinations"] == _model_options(DestinationConfig)
    assert tree[p + "police"] == _model_options(DestinationConfig, ("name", "host", "port", "tls"))
    assert tree[p + "rules"] == _model_options(RulesConfig, ("timezone",))
    other = _model_options(EdgeConfig)
    assert tree[p + "config"] == {k: other[k] for k in tree[p + "config"]}
    handled = {"node", "cameras", "sensors", "outputs", "destinations", "rules", "gpio"}
    assert set(other) == handled | set(tree[p + "config"])
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    assert set(defaults) <= set(options), set(defaults) - set(options)


def _filters() -> Any:
    spec = importlib.util.spec_from_file_location(
        "node_config", ROLE / "filter_plugins/node_config.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_toml_writer_round_trips_and_names_what_it_cannot_write() -> None:
    """The filter's TOML reads back as the mapping it was given (quotes, backslashes,
    non-ASCII, newlines, floats, nested tables in arrays of tables), the same input gives
    the same bytes, and a null names its place."""
    f = _filters()
    cfg = {
        "node": {"id": "a", "site": "b"},
        "cameras": [
            {
                "name": 'ka"n\\tor\nä',
                "fps": 2.5,
                "motion": {"ignore": [{"name": "x", "points": [[0, 0], [1.5, 2]]}]},
                "weird key": True,
            }
        ],
        "empty": {},
    }
    text = f.to_node_toml(cfg)
    assert tomllib.loads(text) == cfg and f.to_node_toml(cfg) == text
    with pytest.raises(f.NodeConfigError, match=r"cameras\[0\]\.record: empty"):
        f.to_node_toml({"cameras": [{"name": "a", "record": None}]})
    with pytest.raises(f.NodeConfigError, match=r"warehouse_edge_config\.cameras: set it with"):
        f.node_config({"node_id": "a", "site": "b", "state_dir": "/x", "config": {"cameras": []}})


def test_names_the_role_sets_itself_are_not_refused() -> None:
    """What the role's tasks register or set as facts (in a host's vars once they ran, a
    later play included) is not taken for a misspelt variable; what the spec declares is
    not among them."""
    f = _filters()
    own = f.own_names()
    assert {"warehouse_edge_preflight_files", "warehouse_edge_model_local"} <= own
    assert not own & set(f.spec_options())
    assert f.unknown_vars({"warehouse_edge_preflight_files": {"results": []}}) == []
