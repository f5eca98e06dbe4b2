"""``edge run`` tunes the process before any thread starts: OpenCV on its callers' threads
(its own pool only spins when many cameras call it at once) and a 1 ms interpreter switch
interval (edge/node/thread_tuning.py)."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import cv2, sys
before = (cv2.getNumThreads(), sys.getswitchinterval())
from edge.cli.run import _tune_process
_tune_process()
print(*before, cv2.getNumThreads(), sys.getswitchinterval())
"""


def test_edge_run_tunes_opencv_and_the_switch_interval() -> None:
    """A fresh process: OpenCV's pool as many threads as cores and Python's 5 ms interval
    before; one thread (the caller's) and 1 ms after the step ``edge run`` takes first."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    threads, interval, threads_after, interval_after = run.stdout.splitlines()[-1].split()
    assert int(threads_after) == 1
    assert float(interval) == 0.005 and float(interval_after) == 0.001
    if (os.cpu_count() or 1) > 1:
        assert int(threads) > 1  # the default the node turns off
