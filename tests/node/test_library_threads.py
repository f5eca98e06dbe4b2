"""``edge run`` makes OpenCV run on its callers' threads before any thread starts: with many
cameras calling it at once, OpenCV's own pool only spins (edge/node/library_threads.py)."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import cv2
before = cv2.getNumThreads()
from edge.cli.run import _tune_process
_tune_process()
print(before, cv2.getNumThreads())
"""


def test_edge_run_tunes_opencv_to_its_callers_threads() -> None:
    """A fresh process: OpenCV's pool as many threads as cores before, one (the caller's)
    after the step ``edge run`` takes first."""
    out = (
        subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
        )
        .stdout.splitlines()[-1]
        .split()
    )  # after the log line
    before, after = int(out[0]), int(out[1])
    assert after == 1
    if (os.cpu_count() or 1) > 1:
        assert before > 1  # the default the node turns off
