"""One way to own a thread: no module of the package starts a thread or a timer by hand;
everything goes through :class:`edge.core.lifecycle.Worker` (start, stop, join, health, a
death reported to its owner)."""

from __future__ import annotations

import re
from pathlib import Path

import edge

ROOT = Path(edge.__file__).parent

ALLOWED = {
    "core/lifecycle.py": "the Worker itself",
    "fakes/picamera2.py": "a fake of picamera2, standing in for that library's own thread",
}
"""Modules that may construct a thread directly, and why."""

_BARE = re.compile(
    r"\bthreading\.(Thread|Timer)\(|^from threading import .*\b(Thread|Timer)\b", re.M
)


def test_no_module_starts_a_bare_thread_or_timer() -> None:
    """``threading.Thread(`` and ``threading.Timer(`` appear only where allowed (and each
    allowance still needs one: a stale entry is named)."""
    offenders, used = [], set()
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if _BARE.search(path.read_text(encoding="utf-8")):
            if rel in ALLOWED:
                used.add(rel)
            else:
                offenders.append(rel)
    assert offenders == [], f"start these threads through edge.core.lifecycle.Worker: {offenders}"
    assert used == set(ALLOWED), f"allowances no longer needed: {set(ALLOWED) - used}"
