"""Validated node configuration: one small model per concern, loaded from TOML."""

from edge.config.cameras import (
    CameraConfig,
    FileSourceConfig,
    MotionConfig,
    RtspSourceConfig,
    SourceConfig,
)
from edge.config.loader import ConfigError, format_loc, load, loads
from edge.config.node import LoggingConfig, NodeConfig
from edge.config.root import EdgeConfig
from edge.config.sensors import GpioConfig, SensorConfig
from edge.config.transport import DestinationConfig, OutboxConfig, TlsConfig

__all__ = [
    "CameraConfig",
    "ConfigError",
    "DestinationConfig",
    "EdgeConfig",
    "FileSourceConfig",
    "GpioConfig",
    "LoggingConfig",
    "MotionConfig",
    "NodeConfig",
    "OutboxConfig",
    "RtspSourceConfig",
    "SensorConfig",
    "SourceConfig",
    "TlsConfig",
    "format_loc",
    "load",
    "loads",
]
