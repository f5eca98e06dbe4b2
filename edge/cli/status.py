"""``edge status``: the running node's state for a technician at the node, read from the
state file the daemon writes within a fraction of a second of every change (a camera
down, a door opened, a link lost) and at every heartbeat (``DATA_DIR/state/status.json``,
the heartbeat's own figures; :mod:`edge.node.statewatch`) and the end of its audit log (the
last events delivered). Exit 0 healthy, 1 degraded, offline or alarm, 3 when the daemon is
not running or its state is older than three heartbeat intervals, 2 for a bad config."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from edge.cli.asservice import node_config
from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_STATE, SubParsers

LAST_EVENTS = 5
TAIL_BYTES = 256 * 1024
"""How much of the audit log's end is read for the last events."""


def register(sub: SubParsers) -> None:
    """Add `edge status`."""
    p = sub.add_parser(
        "status",
        help="the running node's state: cameras, sensors, queues, links, disk, last events",
        description="Read the state the running daemon writes on every change and at every "
        "heartbeat. Exit 0 healthy, 1 degraded/offline/alarm, 3 not running or state stale "
        "(older than 3 heartbeat intervals), 2 bad config. Run as the service user, or as "
        "root (sudo), which reads it as the service user.",
    )
    p.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout, nothing else")
    p.set_defaults(handler=handle)


def last_events(audit: Path, n: int = LAST_EVENTS) -> list[dict[str, Any]]:
    """The last *n* events the audit log records as delivered (newest last), one entry per
    event however many destinations took it."""
    try:
        with audit.open("rb") as f:
            f.seek(max(0, f.seek(0, 2) - TAIL_BYTES))
            lines = f.read().decode(errors="replace").splitlines()[1:]  # first may be cut
    except OSError:
        return []
    found: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if not isinstance(r, dict) or r.get("action") != "shared":
            continue
        if not str(r.get("topic", "")).endswith("events"):
            continue
        entry = found.pop(str(r.get("id")), None) or {
            "time": r.get("time"),
            "kind": r.get("kind"),
            "id": r.get("id"),
            "destinations": [],
        }
        entry["destinations"].append(r.get("destination"))
        found[str(r.get("id"))] = entry
    return list(found.values())[-n:]


def _when(t: object) -> str:
    if isinstance(t, int | float):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
    return str(t)


def _cameras(health: dict[str, Any]) -> list[str]:
    out = []
    for name, c in sorted(health.get("cameras", {}).items()):
        if "blocked" in c:
            out.append(f"  {name:<12} BLOCKED: {c['blocked']}")
            continue
        age = c.get("last_frame_age_s")
        state = "FAULT" if c.get("faulted") else "ok"
        out.append(
            f"  {name:<12} {state:<5} frames {c.get('frames', 0)}, dropped {c.get('dropped', 0)}"
            f", last frame {'-' if age is None else f'{age} s ago'}"
        )
        load = _load(c)
        if load:
            out.append(f"{'':15}{load}")
    return out or ["  (none)"]


def _load(c: dict[str, Any]) -> str:
    """``last 60 s: dropped 150 (20%), analysed 4.0 of 5 fps, lag 0.8 s`` (the camera's
    figures over the heartbeat's recent window; empty for a node that does not send them)."""
    window, share = c.get("window_s"), c.get("dropped_share")
    if not isinstance(window, int | float) or not isinstance(share, int | float):
        return ""
    fps, want, lag = c.get("fps"), c.get("fps_configured"), c.get("lag_s")
    parts = [f"last {window:.0f} s: dropped {c.get('dropped_recent', 0)} ({share * 100:.1f}%)"]
    if isinstance(fps, int | float) and isinstance(want, int | float):
        parts.append(f"analysed {fps:.1f} of {want:g} fps")
    if isinstance(lag, int | float):
        parts.append(f"lag {lag:.1f} s")
    return ", ".join(parts)


def _links(health: dict[str, Any]) -> list[str]:
    queues: dict[str, dict[str, int]] = health.get("queue", {})
    out = []
    for name, x in sorted(health.get("links", {}).items()):
        queued = ", ".join(f"{k} {v}" for k, v in sorted(queues.get(name, {}).items()))
        line = f"  {name:<12} {'connected' if x.get('connected') else 'DOWN'}"
        line += f", queued: {queued or 'nothing'}"
        for key in ("delivery_error", "last_error"):
            if x.get(key):
                line += f"\n{'':15}{key}: {x[key]}"
        if x.get("refusals"):
            line += f"\n{'':15}refusals: {x['refusals']}"
        out.append(line)
    return out or ["  (no destinations)"]


def render(state: dict[str, Any], age_s: float, events: list[dict[str, Any]]) -> str:
    """The state as text for a terminal."""
    h: dict[str, Any] = state["health"]
    reasons = f" ({', '.join(h['reasons'])})" if h.get("reasons") else ""
    lines = [
        f"node {h.get('node')} at {h.get('site')}: {h.get('status')}{reasons}",
        f"  pid {state.get('pid')}, up {h.get('uptime_s')} s, version {h.get('version')}, "
        f"state {age_s:.0f} s old, clock {'synced' if h.get('clock_synced') else 'NOT synced'}",
        "cameras:",
        *_cameras(h),
        "sensors:",
    ]
    for s in h.get("sensors", []) or []:
        shown = f"active {s.get('active')}"
        if s.get("flapping"):  # its events are silent: its level now is what tells
            shown = f"FLAPPING, active now {s.get('active_now')} (reported {s.get('active')})"
        lines.append(
            f"  {s.get('name'):<12} {s.get('kind')}: {s.get('contact')}, "
            f"{shown}, faults {s.get('faults')}"
        )
    if not h.get("sensors"):
        lines.append("  (none)")
    storage = h.get("storage", {})
    lines += ["links and queues:", *_links(h), "disk:"]
    lines.append(
        f"  free {h.get('disk_free_bytes', 0) / 1e9:.2f} GB, clips "
        f"{h.get('clips_bytes', 0) / 1e6:.1f} MB, storage fault {storage.get('fault') or 'none'}"
        f", unstored events {storage.get('unstored_events', 0)}"
    )
    lines.append("last events delivered:")
    for e in events:
        lines.append(f"  {_when(e['time'])}  {e['kind']:<16} {e['id']} -> {e['destinations']}")
    if not events:
        lines.append("  (none in the audit log's end)")
    return "\n".join(lines)


def handle(args: argparse.Namespace) -> int:
    """Print the node's state; the exit status says healthy, degraded or not running."""
    from edge.node.statefile import not_running, read, state_path

    try:
        cfg = node_config(args.config)
    except SystemExit as e:  # a bad config (said on stderr): with --json, still one object
        if args.json:
            bad = {"running": None, "problem": f"bad config {args.config} (see stderr)"}
            print(json.dumps({**bad, "exit": e.code, "state": None, "last_events": []}))
        raise
    state = read(state_path(cfg))
    now = time.time()
    why = not_running(state, now)
    events = last_events(cfg.audit_path)
    status = None if state is None else state["health"].get("status")
    code = EXIT_STATE if why else EXIT_OK if status == "healthy" else EXIT_FAILED
    age = None if state is None else round(now - float(state.get("written", 0)), 1)
    if args.json:
        out = {"running": why is None, "problem": why, "age_s": age, "exit": code}
        print(json.dumps({**out, "state": state, "last_events": events}, sort_keys=True))
        return code
    if why:
        print(f"NOT RUNNING: {why}")
    if state is not None:
        print(("last known state:\n" if why else "") + render(state, age or 0.0, events))
    return code
