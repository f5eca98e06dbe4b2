"""The receiver's config (``receiver.toml``): one validated model per concern, like the
node's. ``edge check-config`` tells the two apart by the ``[receiver]`` table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from edge.config.base import Section
from edge.config.loader import load_as, loads_as
from edge.config.transport import TlsConfig
from edge.core.displaytime import DisplayTimeError, DisplayZone, zone_info
from edge.receiver.httpconfig import HttpSection
from edge.receiver.places import NODES_FIELD, SITES_FIELD, NodeKey, NodePlace, SiteKey, SitePlace
from edge.receiver.retentionconfig import RetentionSection
from edge.receiver.transparencyconfig import TransparencySection

DAY = 86400


class ReceiverSection(Section):
    """Who this receiver is and where it keeps what it receives."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="Receiver name; its MQTT client id is 'receiver-NAME' (one persistent "
        "session per name: two processes must not share one).",
    )
    data_dir: str = Field(
        min_length=1, description="Directory for clips, snapshots and the SQLite store."
    )
    store: str = Field(
        default="sqlite",
        min_length=1,
        description="'sqlite' (DATA_DIR/receiver.db) or a 'postgresql://...' URL (psycopg 3).",
    )
    batch_max: int = Field(
        default=500, ge=1, le=10_000, description="Most messages committed in one transaction."
    )
    batch_wait_ms: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="How long the writer waits to fill a batch before committing what it has.",
    )
    failover: Literal["none", "standby", "shared"] | None = Field(
        default=None,
        description="How receivers stand in for each other (docs/scale.md): 'standby' (two "
        "processes of this name on one PostgreSQL store: one leads, the other takes its "
        "session over when it dies; for one mosquitto), 'shared' (broker.shared_group splits "
        "the load; for a clustered broker), 'none'. Unset: 'shared' with a shared_group, "
        "else 'none'.",
    )
    leader_poll_s: float = Field(
        default=1.0,
        ge=0.1,
        le=60,
        description="failover = 'standby': how often the standby tries for the lead and the "
        "leader checks that it still holds it.",
    )

    @field_validator("store")
    @classmethod
    def _known_store(cls, store: str) -> str:
        if store != "sqlite" and not store.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"must be 'sqlite' or a postgresql:// URL, got {store!r}")
        return store


class BrokerSection(Section):
    """The police broker the nodes deliver into."""

    host: str = Field(min_length=1, max_length=253, description="Broker host name or address.")
    port: int = Field(default=8883, ge=1, le=65535, description="Broker TCP port (TLS).")
    tls: TlsConfig | None = Field(
        default=None, description="Mutual TLS; required unless allow_insecure = true."
    )
    allow_insecure: bool = Field(
        default=False, description="Permit a plain connection (tests and labs only)."
    )
    topic_prefix: str = Field(
        default="warehouse",
        pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$",
        description="First topic levels; nodes publish under PREFIX/SITE/NODE/...",
    )
    shared_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Join this shared-subscription group ($share/GROUP/...) so several "
        "receivers split the traffic; unset: this receiver takes everything.",
    )
    session_expiry_s: int = Field(
        default=7 * DAY,
        ge=60,
        le=365 * DAY,
        description="How long the broker keeps this receiver's session (and queues for it) "
        "while it is away.",
    )
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive.")
    receive_maximum: int = Field(
        default=1000,
        ge=1,
        le=65535,
        description="Unacknowledged messages the broker may send at once (MQTT 5 Receive "
        "Maximum); acks wait for the commit, so this bounds a batch.",
    )

    @model_validator(mode="after")
    def _secure(self) -> BrokerSection:
        if self.tls is None and not self.allow_insecure:
            raise ValueError("broker: tls is required (or allow_insecure = true for a lab)")
        return self


class SupervisionSection(Section):
    """When a node counts as offline or degraded."""

    offline_after_s: float = Field(
        default=80,
        ge=5,
        le=DAY,
        description="No message for this long: node_offline. A silent node is alerted at most "
        "offline_after_s + check_interval_s after its last message (80 + 5 s: within 90 s); "
        "keep it above the nodes' heartbeat interval (60 s) with room for a late one.",
    )
    restart_grace_s: float = Field(
        default=30,
        ge=0,
        le=DAY,
        description="An 'offline' status (a node's last will) arriving while this receiver "
        "had lost the broker, or up to this long after it (re)connected, is judged when this "
        "grace has passed: no node_offline if the node said online meanwhile (a stopping "
        "broker publishes every will, docs/mqtt.md), node_offline if it did not.",
    )
    check_interval_s: float = Field(
        default=5, ge=0.2, le=600, description="How often nodes and clips are checked."
    )
    degraded_queue: int = Field(
        default=1000,
        ge=1,
        le=10_000_000,
        description="Messages waiting in a node's outbox above which it is node_degraded.",
    )
    forged_window_s: float = Field(
        default=3600,
        ge=1,
        le=30 * DAY,
        description="Quarantined messages of one source (the node their topic names) and "
        "reason within this long count into one open forged_message alert.",
    )
    forged_max_sources: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Open forged_message alerts at most; beyond it further sources count "
        "into one alert of source '*'.",
    )


class ClipsSection(Section):
    """Clip reassembly."""

    incomplete_after_s: float = Field(
        default=900,
        ge=1,
        le=30 * DAY,
        description="A clip whose chunks stop arriving for this long is reported incomplete "
        "(it completes later if they resume).",
    )
    max_bytes: int = Field(
        default=1 << 30,
        ge=1024,
        le=1 << 40,
        description="Largest clip accepted; a manifest claiming more is quarantined.",
    )
    orphan_chunks_after_s: float = Field(
        default=DAY,
        ge=1,
        le=365 * DAY,
        description="Chunks of a clip that has not progressed for this long (no manifest, "
        "or never complete) are deleted (log line clip.orphans_dropped, counted).",
    )
    orphan_max_chunks: int = Field(
        default=200_000,
        ge=1,
        le=100_000_000,
        description="Chunks waiting for assembly per node at most; beyond it the chunks of "
        "its least recently updated clips are deleted first.",
    )
    orphan_max_bytes: int = Field(
        default=2 << 30,
        ge=1024,
        le=1 << 44,
        description="Bytes of chunks waiting for assembly per node at most (at least "
        "max_bytes, so one whole clip always fits); beyond it oldest clips' chunks go first.",
    )

    @model_validator(mode="after")
    def _one_clip_fits(self) -> ClipsSection:
        if self.orphan_max_bytes < self.max_bytes:
            raise ValueError(
                f"clips: orphan_max_bytes ({self.orphan_max_bytes}) must be at least "
                f"max_bytes ({self.max_bytes}): one whole clip must fit"
            )
        return self


class QuarantineSection(Section):
    """What is kept of refused messages."""

    max_rows: int = Field(
        default=10_000,
        ge=1,
        le=10_000_000,
        description="Quarantined messages kept at most; the oldest go first and are counted "
        "(edge receive quarantine shows how many were dropped).",
    )
    keep_bytes: int = Field(
        default=4096,
        ge=0,
        le=1 << 20,
        description="Bytes of a refused payload kept (its sha256 and size are always kept).",
    )


class ConsoleSection(Section):
    """The console's language and the one time zone every shown time is in."""

    language: Literal["id", "en"] = Field(
        default="id",
        description="Language of the console for users without one of their own (edge "
        "receive user add --lang) and on the login page: 'id' (Bahasa Indonesia) or 'en'.",
    )
    timezone: str = Field(
        default="Asia/Jakarta",
        min_length=1,
        max_length=64,
        description="IANA time zone of every time shown (console, CLI, evidence README).",
    )
    zone_label: str = Field(
        default="WIB",
        pattern=r"^[A-Za-z][A-Za-z0-9+-]{0,9}$",
        description="What follows a shown time: WIB, WITA, WIT, UTC ...",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            zone_info(name)
        except DisplayTimeError as e:
            raise ValueError(str(e)) from e
        return name

    @property
    def zone(self) -> DisplayZone:
        """The display zone with its label."""
        return DisplayZone(self.timezone, self.zone_label)


class ExpirySection(Section):
    """Certificates and CRLs watched for expiry (``cert_expiring``, ``crl_expiring``)."""

    warn_days: float = Field(
        default=14,
        ge=1,
        le=365,
        description="Alert this many days before a certificate's notAfter or a CRL's "
        "nextUpdate: the nodes' (from their heartbeats) and this receiver's own files.",
    )
    crl_files: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="CRL files (PEM or DER) on this host to watch, e.g. the broker's "
        "crlfile; broker.tls.crl is watched too.",
    )
    check_interval_s: float = Field(
        default=600,
        ge=1,
        le=DAY,
        description="How often the files and the nodes' last heartbeats are checked.",
    )


class ReceiverConfig(Section):
    """A police-side receiver."""

    receiver: ReceiverSection = Field(description="Identity and storage.")
    broker: BrokerSection = Field(description="The police broker.")
    supervision: SupervisionSection = Field(
        default_factory=SupervisionSection, description="Node supervision."
    )
    clips: ClipsSection = Field(default_factory=ClipsSection, description="Clip reassembly.")
    quarantine: QuarantineSection = Field(
        default_factory=QuarantineSection, description="Refused messages kept."
    )
    http: HttpSection = Field(default_factory=HttpSection, description="The dashboard.")
    expiry: ExpirySection = Field(
        default_factory=ExpirySection, description="Certificate and CRL expiry alerts."
    )
    console: ConsoleSection = Field(
        default_factory=ConsoleSection, description="The console's language and time zone."
    )
    retention: RetentionSection = Field(
        default_factory=RetentionSection, description="Clips and snapshots kept by agreement."
    )
    transparency: TransparencySection = Field(
        default_factory=TransparencySection, description="The auditor's reports and exports."
    )
    sites: dict[SiteKey, SitePlace] = SITES_FIELD
    nodes: dict[NodeKey, NodePlace] = NODES_FIELD

    @property
    def data_dir(self) -> Path:
        """Where files go."""
        return Path(self.receiver.data_dir)

    @property
    def store_url(self) -> str:
        """The store as a URL (``sqlite:///...`` or ``postgresql://...``)."""
        if self.receiver.store == "sqlite":
            return f"sqlite:///{self.data_dir / 'receiver.db'}"
        return self.receiver.store

    @property
    def client_id(self) -> str:
        """MQTT client id."""
        return f"receiver-{self.receiver.name}"

    @property
    def failover(self) -> Literal["none", "standby", "shared"]:
        """How this receiver stands in for others (``receiver.failover``, or implied)."""
        if self.receiver.failover is not None:
            return self.receiver.failover
        return "shared" if self.broker.shared_group else "none"

    @model_validator(mode="after")
    def _failover_fits(self) -> ReceiverConfig:
        mode, group = self.receiver.failover, self.broker.shared_group
        if mode == "standby" and self.receiver.store == "sqlite":
            raise ValueError("receiver.failover = 'standby' needs a postgresql:// store "
                             "(the leader is elected through it)")  # fmt: skip
        if mode == "shared" and not group:
            raise ValueError("receiver.failover = 'shared' needs broker.shared_group")
        if mode in ("standby", "none") and group:
            raise ValueError(f"receiver.failover = {mode!r} and broker.shared_group "
                             f"{group!r} exclude each other: a standby pair shares one "
                             "session, a shared group splits the messages")  # fmt: skip
        return self

    @property
    def topic_filter(self) -> str:
        """What this receiver subscribes to (shared when a group is set)."""
        topic = f"{self.broker.topic_prefix}/#"
        group = self.broker.shared_group
        return f"$share/{group}/{topic}" if group else topic


def load(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> ReceiverConfig:
    """Load and validate a receiver config file; errors name the key."""
    return load_as(ReceiverConfig, path, env)


def loads(text: str, source: str = "<receiver config>") -> ReceiverConfig:
    """Validate receiver config TOML *text*."""
    return loads_as(ReceiverConfig, text, source)
