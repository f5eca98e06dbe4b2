"""No thread pools inside the libraries the node calls from many threads at once.

OpenCV runs its functions on a pool of its own threads (one per core). A node calls OpenCV
from every camera's analysis thread (the motion gate's resize and blur, the detector's
letterbox), so a call never finds the cores idle, and after each call the pool's worker
spins in ``sched_yield`` waiting for the next one: at 16 cameras that one thread spent about
6% of a core yielding (``strace -c``: 7,000 ``sched_yield`` a second; gdb: OpenCV's pool
worker), and it competes for the cores with the work. The node's parallelism is its cameras:
:func:`single_threaded_libraries` makes every OpenCV call run on its caller's thread
(``cv2.setNumThreads(0)``). onnxruntime is already given one thread per call
(:func:`edge.analysis.detect.queue.shared_detector`).
"""

from __future__ import annotations

from edge.core.logs import get_logger

log = get_logger(__name__)


def single_threaded_libraries() -> dict[str, int]:
    """Run OpenCV on the caller's thread; returns each library's thread count now (for the
    log and the tests)."""
    import cv2

    cv2.setNumThreads(0)
    counts = {"opencv": cv2.getNumThreads()}
    log.debug("threads.libraries", **counts)
    return counts
