"""Whether one camera may still share anything (:class:`Sharing`), and its snapshot taker
that keeps nothing once it may not (:class:`SharedSnapshots`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt

from edge.analysis.detect.base import Detection
from edge.capture.frame import Image
from edge.events.camera import SnapshotTaker

P = ParamSpec("P")
R = TypeVar("R")


class Sharing:
    """Whether one camera may still share anything. A privacy-mask fault on any of its inputs
    blocks it for good: what would leave afterwards (events, snapshots, clips) is dropped,
    the fault that says why being the last thing sent. Events and snapshots are sent under
    one lock with the block, so none overtakes it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._blocked = False

    @property
    def blocked(self) -> bool:
        """True once the camera shares nothing."""
        return self._blocked

    def send(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        """``fn(*args)`` unless blocked (then None)."""
        with self._lock:
            if self._blocked:
                return None
            return fn(*args, **kwargs)

    def block(self, last: Callable[[], object]) -> bool:
        """Block; *last* (the fault) runs first, under the lock. False when already blocked."""
        with self._lock:
            if self._blocked:
                return False
            self._blocked = True
            last()
            return True


class SharedSnapshots:
    """A camera's snapshot taker that keeps nothing once the camera is blocked."""

    def __init__(self, inner: SnapshotTaker, sharing: Sharing) -> None:
        self.inner = inner
        self.sharing = sharing

    def save(
        self,
        camera: str,
        image: Image,
        detections: Sequence[Detection],
        zones: Sequence[tuple[str, npt.NDArray[np.float32]]] = (),
    ) -> str | None:
        """The snapshot's id; None when it could not be kept or the camera is blocked."""
        return self.sharing.send(self.inner.save, camera, image, detections, zones)
