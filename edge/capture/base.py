"""The camera-input interface every backend implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from edge.capture.frame import Item, Role
from edge.core.errors import CaptureError


class SourceError(CaptureError):
    """An input cannot be opened or has failed; the message names the camera and the input."""


class CameraInput(Protocol):
    """One camera input (a file, a stream, a device) serving one or both roles.

    ``stream()`` opens the input and yields, until it ends: for RECORD, a ``StreamInfo`` then
    ``Packet`` objects (or masked ``Frame`` objects with ``Role.RECORD`` where packets may not
    pass); for DETECT, ``Frame`` objects at the analysis rate. It raises
    :class:`SourceError` when the input cannot be opened, and ``PrivacyError`` when the
    camera's privacy mask cannot be applied (then nothing at all has been yielded).
    ``live`` inputs run at their own pace (analysis drops frames rather than fall behind);
    ``endless`` inputs are reconnected when they end (cameras), others are done (files).
    """

    camera: str
    roles: Role
    live: bool
    endless: bool

    def stream(self) -> Iterator[Item]:
        """Open the input and yield what it produces until it ends or ``close()``."""
        ...

    def close(self) -> None:
        """Make ``stream()`` end soon (within the input's read timeout)."""
        ...
