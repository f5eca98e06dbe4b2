"""Motion gating."""

from edge.motion.background import BackgroundMotion
from edge.motion.base import Box, MotionGate, MotionResult

__all__ = ["BackgroundMotion", "Box", "MotionGate", "MotionResult"]
