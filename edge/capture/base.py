"""The camera-input interface every backend implements."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Protocol

from edge.capture.frame import Item, Role
from edge.capture.redact import redact
from edge.core.errors import CaptureError


class Failure(StrEnum):
    """Why an input failed (``camera_fault`` ``data.reason``)."""

    OPEN = "open_failed"
    """The input could not be opened: missing file or device, refused, not found, no video."""
    DECODE = "decode_failed"
    """It opened, but what it holds cannot be decoded (not a video, corrupt, truncated)."""
    READ = "read_failed"
    """It was delivering and stopped answering (connection lost, read error)."""


class SourceError(CaptureError):
    """An input cannot be opened or has failed; the message names the camera and the input.

    The message is redacted (no URL credentials) when the error is made, so it may be logged,
    stored and sent as it is; the FFmpeg error it came from is never chained (it holds the
    URL in clear)."""

    def __init__(self, message: str, reason: Failure = Failure.OPEN) -> None:
        super().__init__(redact(message))
        self.reason = reason


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
