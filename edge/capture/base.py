"""The frame-source interface every camera backend implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from edge.capture.frame import Frame


class SourceError(Exception):
    """A source cannot be opened or has failed; the message names the camera and the input."""


class FrameSource(Protocol):
    """Yields decoded frames of one camera input.

    ``frames()`` ends when the input ends (end of file, stream gone); it raises
    :class:`SourceError` when the input cannot be opened or is not a video.
    """

    camera: str

    def frames(self) -> Iterator[Frame]:
        """Decoded frames, in order, until the input ends."""
        ...

    def close(self) -> None:
        """Release the input; ``frames()`` then ends."""
        ...
