"""How the node's many threads share the cores and the interpreter.

A node runs two threads per camera (capture, analysis) and the shared detector's two, all
in one Python process. Two settings, both made by ``edge run`` before any thread starts
(:func:`tune_threads`), each measured with ``edge bench capacity 32`` (README, "Capacity"):

- **OpenCV on its callers' threads** (``cv2.setNumThreads(0)``). OpenCV runs its functions
  on a pool of its own (one thread per core); called from every camera's analysis at once it
  never finds the cores idle, and after each call its worker spins in ``sched_yield`` waiting
  for the next: at 16 cameras that one thread spent about 6% of a core yielding (``strace
  -c``: 7,000 ``sched_yield`` a second; gdb: OpenCV's pool worker). The node's parallelism
  is its cameras. (onnxruntime is already given one thread per call.)
- **A 1 ms interpreter switch interval** (``sys.setswitchinterval``, 5 ms by default). Every
  thread here does a little Python between long calls that release the GIL (decoding, the
  motion gate's OpenCV, the detector). A thread that wants the GIL back waits until its holder
  lets go or the interval ends; with ~70 threads the waits add up, and a camera's analysis
  fell behind its frames while the cores were not full (32 cameras: 17.6% of frames dropped
  at 74% CPU). With 1 ms: 0.7% at 79%. The cost is more switches, a few per cent of CPU.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL_S = 0.001
"""The interpreter's switch interval in the node (Python's default is 0.005)."""


def tune_threads() -> dict[str, float]:
    """Make both settings (see the module); returns what they are now (for the tests; not
    logged: it runs before logging is set up, and ``edge run`` prints nothing but errors
    until then)."""
    import cv2

    cv2.setNumThreads(0)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return {"opencv_threads": cv2.getNumThreads(), "switch_interval_s": sys.getswitchinterval()}
