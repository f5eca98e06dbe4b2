"""Helpers of the receiver tests: a receiver config for the session's broker, a publisher
for simulated nodes, and waiting on what the store holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.bench.fleet import Publisher, SimNode
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.config import ReceiverConfig, loads
from edge.receiver.store.store import ReceiverStore


def receiver_toml(
    data_dir: Path,
    broker: LocalBroker,
    ca: DemoCA,
    *,
    name: str = "polda-jateng",
    store: str = "sqlite",
    group: str | None = None,
    offline_after_s: float = 80,
    incomplete_after_s: float = 900,
    prefix: str = "warehouse",
    receiver_extra: str = "",
    supervision_extra: str = "",
) -> str:
    """receiver.toml text for *broker* (a client certificate issued for *name*). Tests on
    the session broker use a *prefix* of their own: it keeps other tests' retained
    messages, which a receiver (rightly) quarantines as from unenrolled nodes. The
    *_extra* lines go into the ``[receiver]`` and ``[supervision]`` tables."""
    pair = ca.issue(f"receiver-{name}")
    shared = f'shared_group = "{group}"\n' if group else ""
    return (
        f'[receiver]\nname = "{name}"\ndata_dir = "{data_dir}"\nstore = "{store}"\n'
        f"{receiver_extra}"
        f'[broker]\nhost = "localhost"\nport = {broker.tls_port}\n{shared}'
        f'topic_prefix = "{prefix}"\n'
        f'[broker.tls]\nca = "{ca.ca_path}"\ncert = "{pair.cert}"\nkey = "{pair.key}"\n'
        f"[supervision]\noffline_after_s = {offline_after_s}\ncheck_interval_s = 0.5\n"
        f"{supervision_extra}"
        f"[clips]\nincomplete_after_s = {incomplete_after_s}\n"
    )


def receiver_config(
    data_dir: Path, broker: LocalBroker, ca: DemoCA, **options: Any
) -> ReceiverConfig:
    """The validated config of :func:`receiver_toml` (same *options*)."""
    return loads(receiver_toml(data_dir, broker, ca, **options))


def publisher(broker: LocalBroker, ca: DemoCA, prefix: str = "warehouse") -> Publisher:
    """A publisher for simulated nodes on *broker*, under *prefix*."""
    pair = ca.issue("sim-nodes")
    return Publisher(broker.tls_port, ca.ca_path, pair.cert, pair.key, prefix)


def enrol(store: ReceiverStore, *nodes: SimNode) -> None:
    """Enrol each simulated node's key."""
    for n in nodes:
        store.enrol(n.site, n.node, n.key.pem)


def count(store: ReceiverStore, table: str) -> int:
    """Rows in *table*."""
    return int(store.db.query(f"SELECT COUNT(*) FROM {table}")[0][0])
