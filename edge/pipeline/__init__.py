"""Per-camera pipelines: threads and bounded queues between the stages."""

from edge.pipeline.camera import CameraWorker, RecordSink
from edge.pipeline.liveness import Liveness, Restored
from edge.queues import Closed, FrameQueue

__all__ = ["CameraWorker", "Closed", "FrameQueue", "Liveness", "RecordSink", "Restored"]
