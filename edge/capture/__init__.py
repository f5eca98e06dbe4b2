"""Frame sources: one interface, one module per kind of camera."""

from edge.capture.base import FrameSource, SourceError
from edge.capture.file import FileSource
from edge.capture.frame import Frame, Image

__all__ = ["FileSource", "Frame", "FrameSource", "Image", "SourceError"]
