"""One family of errors: everything this package raises on purpose is an :class:`EdgeError`,
with one subclass per concern, so a caller can catch a concern without knowing its modules."""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error the node raises on purpose (a bug raises something else)."""


class ConfigurationError(EdgeError):
    """A configuration that cannot be used (``edge.config.loader.ConfigError``)."""


class CaptureError(EdgeError):
    """A camera input that cannot deliver frames, or whose privacy mask cannot be applied."""


class DetectorError(EdgeError):
    """A detector model that cannot be loaded or run."""


class ClipError(EdgeError):
    """A clip that cannot be cut, written or stored."""


class EvidenceError(EdgeError):
    """A key, signature, manifest or audit record that cannot be made or verified."""


class OutboxError(EdgeError):
    """The durable outbox cannot store or read a message."""


class TransportError(EdgeError):
    """A destination that cannot be reached or set up (TLS, broker)."""


class SensorError(EdgeError):
    """A GPIO input or output that cannot be used."""
