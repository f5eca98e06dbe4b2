"""Per-camera pipelines: threads and bounded queues between the stages."""

from edge.pipeline.camera import CameraWorker
from edge.pipeline.queues import Closed, FrameQueue

__all__ = ["CameraWorker", "Closed", "FrameQueue"]
