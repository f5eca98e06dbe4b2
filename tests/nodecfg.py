"""Node configuration text for the tests: one builder for the ``[node]`` table with its cameras,
sensors and destinations, so each test spells out only the settings it is about."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from edge.config.cameras import CameraConfig
from edge.config.loader import ConfigError, loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.evidence.keyinit import init_key

Value = str | int | float | bool | Path | Sequence[str]
"""What a setting may be: a TOML string (or path), number, boolean or list of strings."""


def toml_value(value: Value) -> str:
    """*value* as a TOML value (strings and paths quoted, lists inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))
    return "[" + ", ".join(json.dumps(v) for v in value) + "]"


def _table(header: str, settings: dict[str, Value], extra: str = "") -> str:
    lines = [header, *(f"{k} = {toml_value(v)}" for k, v in settings.items())]
    if extra.strip():
        lines.append(extra.strip("\n"))
    return "\n".join(lines) + "\n"


def file_camera(
    name: str, path: Path, *, realtime: bool = False, extra: str = "", **settings: Value
) -> str:
    """A ``[[cameras]]`` block that detects on the file *path*; *settings* (fps, ...) go in
    the camera table, *extra* (e.g. ``synth.MASK_TOML``) is appended as is."""
    detect = f"{{ kind = {toml_value('file')}, path = {toml_value(path)}"
    detect += ", realtime = true }" if realtime else " }"
    return _table("[[cameras]]", {"name": name, **settings}, f"detect = {detect}\n{extra}")


def sensor(name: str, kind: str, pin: int, **settings: Value) -> str:
    """A ``[[sensors]]`` block: *name* of *kind* on GPIO *pin*, plus *settings*."""
    return _table("[[sensors]]", {"name": name, "kind": kind, "pin": pin, **settings})


def tls_destination(
    broker: LocalBroker, ca: DemoCA, cert: CertPair, name: str = "police", **settings: Value
) -> str:
    """A ``[[destinations]]`` block for *broker*'s mutual-TLS listener on localhost, trusting
    *ca* and presenting *cert*; *settings* (kinds, cameras, topic_prefix, ...) are added."""
    tls = (
        f"{{ ca = {toml_value(ca.ca_path)}, cert = {toml_value(cert.cert)}, "
        f"key = {toml_value(cert.key)} }}"
    )
    table = {"name": name, "host": "localhost", "port": broker.tls_port, **settings}
    return _table("[[destinations]]", table, f"tls = {tls}")


def node_key(node_table: str) -> None:
    """Make the signing key of the node whose ``[node]`` table is *node_table*, when it has
    none, the way an installer does: ``edge keys init`` (a node never makes one itself). A
    table that is not valid (a test about bad configs) gets none."""
    try:
        cfg = loads(node_table)
    except ConfigError:
        return
    if not cfg.key_path.exists():
        init_key(cfg.key_path, cfg.audit_path)


def node_config(
    data_dir: Path,
    node_id: str,
    site: str = "s",
    *,
    mock_gpio: bool = False,
    cameras: Sequence[str] = (),
    sensors: Sequence[str] = (),
    destinations: Sequence[str] = (),
    extra: str = "",
) -> str:
    """A node's TOML: ``[node]`` (*node_id*, *site*, *data_dir*), ``[gpio] factory = "mock"``
    when *mock_gpio*, then *extra* (whole tables: ``[clips]``, ``[logging]``, ...), the
    cameras, the sensors and the destinations (blocks from the builders above). The node gets
    its signing key in *data_dir* if it has none (:func:`node_key`)."""
    node = _table("[node]", {"id": node_id, "site": site, "data_dir": data_dir})
    node_key(node)
    parts = [node]
    if mock_gpio:
        parts.append(_table("[gpio]", {"factory": "mock"}))
    if extra.strip():
        parts.append(extra.strip("\n") + "\n")
    parts += [*cameras, *sensors, *destinations]
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


def video_camera(
    video: Path, extra: str = "", *, name: str = "cam", fps: float = 5
) -> CameraConfig:
    """The validated config of one camera replaying *video* at *fps* (node ``n`` at site
    ``s``), with *extra* camera settings appended; for tests that run the analyzer alone."""
    return loads(f"""
[node]
id = "n"
site = "s"
[[cameras]]
name = "{name}"
fps = {fps}
detect = {{ kind = "file", path = "{video}" }}
{extra}
""").cameras[0]
