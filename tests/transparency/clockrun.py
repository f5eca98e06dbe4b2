"""Run a Python program with a wall clock the test moves, never waited for:
``python clockrun.py OFFSET_FILE (-m MODULE | SCRIPT) ARGS...``.

``time.time()`` answers the real time plus the offset (seconds) written in OFFSET_FILE, read
again every 50 ms, so the test moves every process's clock at once by rewriting one file.
The monotonic clock, sleeps and timeouts stay real (libfaketime's interposed waits hang
Python's ``Event.wait`` here); OpenSSL checks certificates against the real clock. The node
and the receiver read the wall clock only through ``time.time`` (records, events, receipts,
sessions), so the whole day of the test is one of their days.
"""

from __future__ import annotations

import runpy
import sys
import threading
import time
from pathlib import Path

_real = time.time
_offset = [0.0]
"""Seconds added to the real time (a list: the follower thread rewrites it)."""


def _read(path: Path) -> float | None:
    try:
        return float(path.read_text().strip() or "0")
    except (OSError, ValueError):
        return None


def _follow(path: Path) -> None:
    while True:
        value = _read(path)
        if value is not None:
            _offset[0] = value
        time.sleep(0.05)


def _now() -> float:
    return _real() + _offset[0]


def main() -> None:
    """Patch the clock, then run the program as ``__main__``."""
    path, rest = Path(sys.argv[1]), sys.argv[2:]
    _offset[0] = _read(path) or 0.0
    time.time = _now
    threading.Thread(target=_follow, args=(path,), daemon=True, name="clockrun").start()
    if rest[0] == "-m":
        sys.argv = [rest[1], *rest[2:]]
        runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = rest
        sys.path.insert(0, str(Path(rest[0]).resolve().parent))
        runpy.run_path(rest[0], run_name="__main__")


if __name__ == "__main__":
    main()
