"""Camera inputs: one interface, one module per kind of camera, masks applied at the source."""

from edge.capture.base import CameraInput, SourceError
from edge.capture.factory import build_input, build_inputs
from edge.capture.file import FileInput
from edge.capture.frame import Frame, Image, Item, Packet, Role, StreamInfo

__all__ = [
    "CameraInput",
    "FileInput",
    "Frame",
    "Image",
    "Item",
    "Packet",
    "Role",
    "SourceError",
    "StreamInfo",
    "build_input",
    "build_inputs",
]
