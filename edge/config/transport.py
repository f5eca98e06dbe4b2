"""MQTT destinations (the police broker, the operator's broker) and the outbox."""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from edge.config.base import Section, absolute_path
from edge.core.kinds import ALL_KINDS, MESSAGE_KINDS

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(\.{_LABEL})*\.?")


class TlsConfig(Section):
    """Mutual TLS: the site CA and this node's client certificate.

    Paths may be written ``credential:NAME`` to read them from systemd's
    ``$CREDENTIALS_DIRECTORY`` (``LoadCredential=NAME:/path`` in the unit).
    """

    ca: str = Field(min_length=1, description="CA certificate (PEM) that signed the broker.")
    cert: str | None = Field(
        default=None, min_length=1, description="This node's client certificate (PEM)."
    )
    key: str | None = Field(
        default=None, min_length=1, description="This node's client private key (PEM)."
    )
    verify_hostname: bool = Field(
        default=True,
        description="Check the broker's certificate names the host. Turning this off needs "
        "allow_insecure = true.",
    )
    crl: str | None = Field(
        default=None,
        min_length=1,
        description="The site CRL (PEM or DER) kept on this host: its days to nextUpdate are "
        "reported (heartbeat links.DEST.crl_days; the receiver's crl_expiring). Unset: "
        "site-crl.pem beside the ca file, where there is one. Not used to verify the broker.",
    )

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> TlsConfig:
        if (self.cert is None) != (self.key is None):
            raise ValueError("cert and key must be given together")
        return self


class DestinationConfig(Section):
    """One MQTT broker that receives what this node shares."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Destination name, e.g. 'police'."
    )
    host: str = Field(
        min_length=1,
        max_length=253,
        description="Broker host name (must match its certificate) or IP address.",
    )
    port: int = Field(default=8883, ge=1, le=65535, description="Broker TCP port.")
    protocol: Literal["5", "3.1.1"] = Field(default="5", description="MQTT protocol version.")
    tls: TlsConfig | None = Field(
        default=None, description="TLS settings; required unless allow_insecure = true."
    )
    allow_insecure: bool = Field(
        default=False,
        description="Permit a plain or unverified connection. Logged as a warning at every "
        "start; never for a production police link.",
    )
    keepalive_s: int = Field(
        default=30,
        ge=5,
        le=3600,
        description="MQTT keepalive; the broker notices a dead link after 1.5x this.",
    )
    will_delay_s: int = Field(
        default=10,
        ge=0,
        le=3600,
        description="MQTT 5: the broker publishes the retained 'offline' last will this long "
        "after the connection drops, unless the node is back by then (no alarm for a short "
        "drop); the session is kept as long. 0: at once, clean sessions.",
    )
    topic_prefix: str = Field(
        default="warehouse",
        pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$",
        description="First topic levels; topics are PREFIX/SITE/NODE/...",
    )
    kinds: list[str] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        description="Kinds this destination may receive: event kinds, 'clip', 'snapshot', "
        "'node_health'; '*' for all.",
    )

    @field_validator("host")
    @classmethod
    def _host_name_or_address(cls, host: str) -> str:
        """A blank or malformed host would only fail at connect time, over and over."""
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(host)
            return host
        if not _HOSTNAME.fullmatch(host):
            raise ValueError(
                f"not a host name or IP address: {host!r} (letters, digits, '-' and '.' only)"
            )
        return host

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        """A misspelt kind would silently share nothing: refuse it, with a suggestion."""
        for kind in kinds:
            if kind != ALL_KINDS and kind not in MESSAGE_KINDS:
                near = difflib.get_close_matches(kind, sorted(MESSAGE_KINDS), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                known = ", ".join(sorted(MESSAGE_KINDS))
                raise ValueError(f"unknown kind {kind!r}{hint}; known kinds: {known}, '*'")
        return kinds

    cameras: list[str] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        description="Cameras shared with this destination: their events, clips and snapshots "
        "may go; other cameras' never do. '*' for all.",
    )
    bandwidth_bps: int = Field(
        default=0,
        ge=0,
        le=10_000_000_000,
        description="Most bytes per second sent to this broker (0: no cap). Alarms still "
        "overtake clip chunks.",
    )

    refusal_retry_max_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="Longest wait between retries of a message the broker refused (MQTT 5 "
        "reason code); retries start at 1 s and double, on the same connection.",
    )
    reconnect_max_s: float = Field(
        default=10.0,
        ge=1,
        le=600,
        description="Longest wait between attempts to reconnect to this broker: waits start "
        "at 1 s and double up to this, each jittered to [d/2, d], so an alarm queued in an "
        "outage leaves at most this long after the broker is back. While another client "
        "takes over this node's connection (duplicate node id) the link waits 1-2 times this.",
    )
    accept_unconfirmed_delivery: bool = Field(
        default=False,
        description="Allow protocol '3.1.1', whose PUBACK cannot say that the broker refused a "
        "message (an ACL denial looks like a delivery): warned at every start.",
    )

    @model_validator(mode="after")
    def _refusals_visible(self) -> DestinationConfig:
        if self.protocol == "3.1.1" and not self.accept_unconfirmed_delivery:
            raise ValueError(
                "protocol = '3.1.1' cannot report refused messages (they would be recorded as "
                "delivered): use '5', or set accept_unconfirmed_delivery = true"
            )
        return self

    @model_validator(mode="after")
    def _secure_unless_allowed(self) -> DestinationConfig:
        if self.allow_insecure:
            return self
        if self.tls is None:
            raise ValueError("tls is required unless allow_insecure = true")
        if not self.tls.verify_hostname:
            raise ValueError("tls.verify_hostname = false requires allow_insecure = true")
        return self


class ClassConfig(Section):
    """Time to live and size cap of one outbox class."""

    ttl_s: float = Field(ge=0, le=365 * 86400, description="Seconds kept (0: until delivered).")
    max_messages: int = Field(
        ge=10, le=10_000_000, description="Cap; the oldest of the class go beyond it (counted)."
    )


class OutboxConfig(Section):
    """The durable queue between the pipeline and the brokers."""

    chunk_size: int = Field(
        default=256 * 1024,
        ge=4 * 1024,
        le=8 * 1024 * 1024,
        description="Clip chunk size in bytes; must fit every broker's packet limit (EMQX 1 MB, "
        "AWS IoT 128 KB).",
    )
    max_chunks_inflight: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Clip chunks awaiting PUBACK at once, so alarms overtake a clip upload.",
    )
    alarm: ClassConfig = Field(
        default_factory=lambda: ClassConfig(ttl_s=0, max_messages=1_000_000),
        description="Alarms (smoke, tamper, armed doors and zones).",
    )
    event: ClassConfig = Field(
        default_factory=lambda: ClassConfig(ttl_s=14 * 86400, max_messages=1_000_000),
        description="Other events (people, doors in working hours, faults).",
    )
    clip: ClassConfig = Field(
        default_factory=lambda: ClassConfig(ttl_s=7 * 86400, max_messages=200_000),
        description="Clip manifests, chunks and snapshots.",
    )
    health: ClassConfig = Field(
        default_factory=lambda: ClassConfig(ttl_s=900, max_messages=200),
        description="Heartbeats.",
    )

    path: str | None = Field(
        default=None,
        min_length=1,
        description="SQLite file (an absolute path). Default: DATA_DIR/outbox.sqlite.",
    )
    max_inflight: int = Field(
        default=32, ge=1, le=1000, description="Messages awaiting PUBACK per destination."
    )
    reserve_bytes: int = Field(
        default=8 * 1024**2,
        ge=0,
        le=1024**3,
        description="Cap of the disk space held in a reserve file beside the outbox and given "
        "up to store alarms when the disk is full: 2% of the file system, at least 256 KiB, at "
        "most this (0: none).",
    )
    unstored_max: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description="Events kept in memory while the outbox cannot store them (disk full); "
        "beyond it the oldest non-alarm events go first (counted).",
    )

    @field_validator("path")
    @classmethod
    def _absolute(cls, v: str | None) -> str | None:
        return None if v is None else absolute_path(v)
