"""Validated node configuration: one small model per concern, loaded from TOML."""

from edge.config.cameras import (
    CameraConfig,
    FileSourceConfig,
    JetsonSourceConfig,
    MotionConfig,
    PicameraSourceConfig,
    PrivacyMaskConfig,
    RtspSourceConfig,
    SourceConfig,
    V4l2SourceConfig,
)
from edge.config.detection import CameraDetectionConfig, DetectorConfig, ZoneConfig
from edge.config.loader import ConfigError, format_loc, load, loads
from edge.config.node import HealthConfig, LoggingConfig, NodeConfig
from edge.config.root import EdgeConfig
from edge.config.sensors import GpioConfig, OutputConfig, SensorConfig
from edge.config.transport import DestinationConfig, OutboxConfig, TlsConfig

__all__ = [
    "CameraConfig",
    "CameraDetectionConfig",
    "ConfigError",
    "DestinationConfig",
    "DetectorConfig",
    "EdgeConfig",
    "FileSourceConfig",
    "GpioConfig",
    "HealthConfig",
    "JetsonSourceConfig",
    "LoggingConfig",
    "MotionConfig",
    "NodeConfig",
    "OutboxConfig",
    "OutputConfig",
    "PicameraSourceConfig",
    "PrivacyMaskConfig",
    "RtspSourceConfig",
    "SensorConfig",
    "SourceConfig",
    "TlsConfig",
    "V4l2SourceConfig",
    "ZoneConfig",
    "format_loc",
    "load",
    "loads",
]
