"""Filters of the warehouse_edge role: the node config built from the role's variables
(``node_config``), written as TOML (``to_node_toml``), and the variables checked against
meta/argument_specs.yml (``unknown_vars``).

The host vars mirror node.toml: a camera, sensor, output or destination is the same table
as in node.toml, in YAML, and passes through unchanged (a camera's ``detect``/``record`` may
also be a bare rtsp:// URL). So a key the daemon accepts is a key Ansible renders, with no
list of keys here to fall behind; ``edge check-config`` (the template's validate) judges
the values. The role fills only what it owns: the node's identity, its data directory,
the model it installed and the police broker's TLS credentials.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]

SPEC = Path(__file__).resolve().parents[1] / "meta" / "argument_specs.yml"
PREFIX = "warehouse_edge_"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

OWN_SECTIONS = {
    "node": "warehouse_edge_node_id, warehouse_edge_site and warehouse_edge_state_dir",
    "cameras": "warehouse_edge_cameras",
    "sensors": "warehouse_edge_sensors",
    "outputs": "warehouse_edge_outputs",
    "destinations": "warehouse_edge_destinations (the police broker: warehouse_edge_police_*)",
    "rules": "warehouse_edge_rules (the time zone: warehouse_edge_timezone)",
    "gpio": "warehouse_edge_gpio_factory",
}
"""Sections of node.toml that have a variable of their own, and which."""
POLICE_OWN = ("name", "host", "port", "tls")
"""Keys of the police destination the role sets (warehouse_edge_police_host, _port and the
TLS files it installs)."""


class NodeConfigError(ValueError):
    """A variable that cannot become a node config (the message names the variable)."""


def _plain(value: Any) -> Any:  # noqa: PLR0911 (one return per type)
    """*value* as plain dicts, lists, str, int, float and bool (Ansible hands tagged and
    lazily templated containers to filters)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Sequence):
        return [_plain(v) for v in value]
    return value


# -- the config -------------------------------------------------------------------------------


def _source(where: str, value: Any) -> Any:
    """A camera input: a bare URL is an RTSP/HTTP stream, a mapping passes through."""
    if isinstance(value, str):
        return {"kind": "rtsp", "url": value}
    if isinstance(value, Mapping):
        return dict(value)
    raise NodeConfigError(f"{where}: give a stream URL or a source table, not {value!r}")


def _camera(i: int, cam: Any) -> dict[str, Any]:
    where = f"warehouse_edge_cameras[{i}]"
    if not isinstance(cam, Mapping):
        raise NodeConfigError(f"{where}: a camera is a mapping (name, detect, ...), not {cam!r}")
    out = dict(cam)
    for role in ("detect", "record"):
        if role in out:
            out[role] = _source(f"{where}.{role}", out[role])
    return out


def _tables(name: str, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise NodeConfigError(f"{name}: a list of tables, not {value!r}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise NodeConfigError(f"{name}[{i}]: a mapping, not {item!r}")
        out.append(dict(item))
    return out


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise NodeConfigError(f"{name}: a mapping, not {value!r}")
    return dict(value)


def _refuse(name: str, given: Mapping[str, Any], keys: Sequence[str], why: str) -> None:
    for key in keys:
        if key in given:
            raise NodeConfigError(f"{name}.{key}: set by the role ({why}); remove it here")


def node_config(v: Mapping[str, Any]) -> dict[str, Any]:
    """The node config (node.toml as a mapping) from the role's variables, given by their
    names less the ``warehouse_edge_`` prefix."""
    v = _plain(v)
    extra = _mapping(f"{PREFIX}config", v.get("config"))
    for section, var in OWN_SECTIONS.items():
        if section in extra:
            raise NodeConfigError(f"{PREFIX}config.{section}: set it with {var}")
    cfg: dict[str, Any] = {
        "node": {"id": v["node_id"], "site": v["site"], "data_dir": v["state_dir"]}
    }
    if "logging" in extra:
        cfg["logging"] = extra.pop("logging")
    rules = _mapping(f"{PREFIX}rules", v.get("rules"))
    _refuse(f"{PREFIX}rules", rules, ["timezone"], f"{PREFIX}timezone")
    if v.get("timezone"):
        rules = {"timezone": v["timezone"], **rules}
    if rules:
        cfg["rules"] = rules
    detector = extra.pop("detector", None)
    detector = _mapping(f"{PREFIX}config.detector", detector)
    if v.get("model_src"):
        why = f"{PREFIX}model_src and {PREFIX}model_sha256"
        _refuse(f"{PREFIX}config.detector", detector, ["model", "model_sha256"], why)
        model = f"{v['model_dir']}/{Path(str(v['model_src'])).name}"
        detector = {"backend": "onnx", **detector, "model": model}
        detector["model_sha256"] = v["model_sha256"]
    if detector:
        cfg["detector"] = detector
    cfg["gpio"] = {"factory": v.get("gpio_factory") or "default"}
    cameras = _tables(f"{PREFIX}cameras", v.get("cameras"))
    cfg["cameras"] = [_camera(i, c) for i, c in enumerate(cameras)]
    cfg["sensors"] = _tables(f"{PREFIX}sensors", v.get("sensors"))
    cfg["outputs"] = _tables(f"{PREFIX}outputs", v.get("outputs"))
    destinations = []
    if v.get("police_host"):
        police = _mapping(f"{PREFIX}police", v.get("police"))
        _refuse(f"{PREFIX}police", police, POLICE_OWN, f"{PREFIX}police_host/_port, TLS")
        tls = {"ca": "credential:site-ca.crt", "cert": "credential:node.crt"}
        tls["key"] = "credential:node.key"
        base = {"name": "police", "host": v["police_host"], "port": v["police_port"]}
        destinations.append({**base, "tls": tls, **police})
    destinations += _tables(f"{PREFIX}destinations", v.get("destinations"))
    cfg["destinations"] = destinations
    cfg.update(extra)  # outbox, clips, health, ... as given
    return {k: val for k, val in cfg.items() if val != []}


# -- TOML ---------------------------------------------------------------------------------------


def _key(key: Any) -> str:
    text = str(key)
    return text if _BARE_KEY.match(text) else json.dumps(text, ensure_ascii=False)


def _value(where: str, value: Any) -> str:  # noqa: PLR0911 (one return per type)
    """*value* as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        f = float(value)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(value, str):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {_value(f'{where}.{k}', v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, Sequence):
        items = ", ".join(_value(f"{where}[{i}]", v) for i, v in enumerate(value))
        return f"[{items}]"
    if value is None:
        raise NodeConfigError(f"{where}: empty (null); give a value or leave the key out")
    raise NodeConfigError(f"{where}: {type(value).__name__} {value!r} has no TOML form")


def _is_tables(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def _table(lines: list[str], path: str, table: Mapping[str, Any], header: str, where: str) -> None:
    """Append *table* (TOML name *path*, shown in errors as *where*): its values first,
    then its tables and arrays of tables, in the order given."""
    if header:
        if lines:
            lines.append("")
        lines.append(header)
    nested = [(k, v) for k, v in table.items() if isinstance(v, Mapping) or _is_tables(v)]
    done = {k for k, _ in nested}
    for k, v in table.items():
        if k not in done:
            lines.append(f"{_key(k)} = {_value(f'{where}.{k}'.lstrip('.'), v)}")
    for k, v in nested:
        name = f"{path}.{_key(k)}".lstrip(".")
        at = f"{where}.{k}".lstrip(".")
        if isinstance(v, Mapping):
            _table(lines, name, v, f"[{name}]", at)
        else:
            for i, item in enumerate(v):
                _table(lines, name, item, f"[[{name}]]", f"{at}[{i}]")


def to_node_toml(cfg: Mapping[str, Any]) -> str:
    """*cfg* written as TOML: tables and arrays of tables for sections and lists of tables,
    inline values for the rest; the order as given (the same input, the same bytes)."""
    lines: list[str] = []
    _table(lines, "", cfg, "", "")
    return "\n".join(lines) + "\n"


# -- checking the variables -------------------------------------------------------------------


def _hint(key: str, known: Iterable[str]) -> str:
    near = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _registered(value: Any) -> bool:
    """A task's registered result (a play's own warehouse_edge_* results)."""
    return isinstance(value, Mapping) and "changed" in value


def _task_names(tasks: Any, out: set[str]) -> None:
    """Names *tasks* register or set as facts (blocks included)."""
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, Mapping):
            continue
        if isinstance(task.get("register"), str):
            out.add(task["register"])
        for module in ("ansible.builtin.set_fact", "set_fact"):
            if isinstance(task.get(module), Mapping):
                out.update(str(k) for k in task[module])
        for part in ("block", "rescue", "always"):
            _task_names(task.get(part), out)


def own_names(role: Path = SPEC.parents[1]) -> set[str]:
    """Variables the role's own tasks and handlers make (register, set_fact): they are
    in a host's vars once a task ran, and are not the user's to set."""
    out: set[str] = set()
    for folder in ("tasks", "handlers"):
        for path in sorted((role / folder).glob("*.yml")):
            _task_names(yaml.safe_load(path.read_text()), out)
    return out


def _check(where: str, value: Any, spec: Mapping[str, Any], out: list[str]) -> None:
    """Keys of *value* that *spec* (an option's) does not declare, recursively."""
    options = spec.get("options")
    if not options:
        return
    if spec.get("type") == "list" and isinstance(value, Sequence) and not isinstance(value, str):
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                label = f" ({item['name']})" if isinstance(item.get("name"), str) else ""
                _check_keys(f"{where}[{i}]{label}", item, options, out)
    elif isinstance(value, Mapping):
        _check_keys(where, value, options, out)


def _check_keys(
    where: str, value: Mapping[str, Any], options: Mapping[str, Any], out: list[str]
) -> None:
    for key in value:
        if key not in options:
            known = ", ".join(sorted(options))
            out.append(f"{where}: unknown key {key!r}{_hint(str(key), options)}; known: {known}")
        else:
            _check(f"{where}.{key}", value[key], options[key], out)


def _holders(key: str, options: Mapping[str, Any], where: str = "") -> Iterator[str]:
    """Where in *options* a key named *key* is declared (``warehouse_edge_cameras``)."""
    for name, spec in options.items():
        here = f"{where}.{name}" if where else name
        inner = spec.get("options") or {}
        if key in inner:
            yield here
        yield from _holders(key, inner, here)


def _top_hint(name: str, options: Mapping[str, Any]) -> str:
    """A hint for an unknown variable: the key of that name inside a variable, else the
    nearest variable name."""
    key = name.removeprefix(PREFIX)
    holder = next(_holders(key, options), None)
    if holder is not None:
        return f" ({key} is a key inside {holder}: give it there)"
    return _hint(name, options)


def spec_options(path: Path = SPEC) -> dict[str, Any]:
    """The options of the role's main entry point in meta/argument_specs.yml."""
    spec = yaml.safe_load(path.read_text())
    return dict(spec["argument_specs"]["main"]["options"])


def unknown_vars(host_vars: Mapping[str, Any], host: str = "") -> list[str]:
    """One line per ``warehouse_edge_*`` variable of *host_vars* (a host's hostvars) that
    meta/argument_specs.yml does not declare, and per undeclared key inside one (a camera's
    ``privacy_mask``), with the nearest known name."""
    options = spec_options()
    own = own_names()
    out: list[str] = []
    for name in sorted(str(n) for n in host_vars):
        if not name.startswith(PREFIX) or name in own:
            continue
        value = host_vars[name]
        if name not in options:
            if not _registered(value):
                hint = _top_hint(name, options)
                out.append(f"{name}: not a variable of the warehouse_edge role{hint}")
            continue
        _check(name, value, options[name], out)
    at = f"host {host}: " if host else ""
    return [at + line for line in out]


class FilterModule:
    """The role's filters."""

    def filters(self) -> dict[str, Any]:
        """Name -> function."""
        return {
            "node_config": node_config,
            "to_node_toml": to_node_toml,
            "unknown_vars": unknown_vars,
        }
