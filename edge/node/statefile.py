"""The running node's state for a technician at the node (``edge status``): the heartbeat's
own dict, with the daemon's PID and the heartbeat interval, written to
``DATA_DIR/state/status.json`` at every heartbeat and on every change of what ``edge status``
shows (:mod:`edge.node.statewatch`, within a fraction of a second). Whole or not at all: a
temporary file renamed into place; 0600 in a 0700 directory. Writers in one process take
turns, and an older state never replaces a newer one. A file older than three intervals, or
whose PID is gone, means the daemon is not running. Failing to write it never stops the
heartbeat."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from edge.config.root import EdgeConfig
from edge.core.logs import get_logger

log = get_logger(__name__)

SCHEMA = "warehouse-edge/state/1"
STALE_INTERVALS = 3
"""A state this many heartbeat intervals old is stale: the daemon is not running (or hung)."""

_LOCK = threading.Lock()
"""One writer at a time (the heartbeat and the state watch share the temporary file)."""
_NEWEST: dict[Path, float] = {}
"""The ``time`` of the health last written to each path (by this process)."""
_HEALTH: dict[Path, dict[str, Any]] = {}
"""The health last written to each path (by this process): what the file holds."""


def state_path(cfg: EdgeConfig) -> Path:
    """Where the node writes its state file."""
    return cfg.data_dir / "state" / "status.json"


def write(path: Path, health: dict[str, Any], interval_s: float) -> None:
    """Write the state (*health*, this PID, *interval_s*) to *path* atomically."""
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, mode=0o700)
        os.chmod(path.parent, 0o700)
    state = {
        "schema": SCHEMA,
        "pid": os.getpid(),
        "interval_s": interval_s,
        "written": round(time.time(), 3),
        "health": health,
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, sort_keys=True, separators=(",", ":"))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def written(cfg: EdgeConfig, health: dict[str, Any]) -> dict[str, Any]:
    """Write *health* as the node's state file unless a newer one was written meanwhile (a
    failure is logged, never raised); returns *health*, for the heartbeat to publish."""
    path = state_path(cfg)
    at = float(health.get("time", 0.0))
    try:
        with _LOCK:
            if at >= _NEWEST.get(path, float("-inf")):  # never a newer state by an older one
                write(path, health, cfg.health.interval_s)
                _NEWEST[path] = at
                _HEALTH[path] = health
    except OSError as e:
        log.warning("node.state_file_failed", path=str(path), error=str(e))
    return health


def current(cfg: EdgeConfig) -> dict[str, Any] | None:
    """The health this process last wrote to the node's state file (the heartbeat's or the
    state watch's, whichever was last); None before the first."""
    with _LOCK:
        return _HEALTH.get(state_path(cfg))


def read(path: Path) -> dict[str, Any] | None:
    """The state file at *path*, or None when there is none (or it is not a state)."""
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.warning("node.state_file_unreadable", path=str(path), error=str(e))
        return None
    return state if isinstance(state, dict) and state.get("schema") == SCHEMA else None


def pid_alive(pid: object) -> bool:
    """Whether a process with *pid* exists (another user's counts)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def not_running(state: dict[str, Any] | None, now: float) -> str | None:
    """Why *state* does not describe a running daemon at Unix time *now*; None if it does."""
    if state is None:
        return "no state file: the daemon is not running (or has not sent a heartbeat yet)"
    age = now - float(state.get("written", 0))
    limit = STALE_INTERVALS * float(state.get("interval_s", 60))
    if not pid_alive(state.get("pid")):
        return f"the daemon (pid {state.get('pid')}) is not running; state {age:.0f} s old"
    if age > limit:
        return f"state {age:.0f} s old (over {limit:.0f} s): the daemon is hung or not running"
    return None
