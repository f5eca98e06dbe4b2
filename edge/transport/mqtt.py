"""One MQTT link to one destination: drains that destination's outbox cursor.

Two threads per link. The *network* thread owns the paho client: it connects (with jittered
backoff), runs paho's loop, and creates a fresh client for every connection so nothing is
ever queued in paho's memory across a reconnect. The *sender* thread takes pending messages
from the outbox, publishes them with QoS 1 within a window, and acknowledges them in the
outbox when the broker's PUBACK comes back. Until then they stay on disk.
"""

from __future__ import annotations

import json
import queue
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge import __version__
from edge.backoff import Backoff
from edge.config import DestinationConfig, NodeConfig
from edge.logs import get_logger
from edge.outbox import Outbox, Pending, Priority
from edge.transport import topics
from edge.transport.tls import TlsSetupError, client_context, explain

log = get_logger(__name__)

SUSPECT_AFTER = 3
"""Connections lost with the same large message in flight before it is held back."""


@dataclass
class LinkStats:
    """Counters of one link, for health reports and benchmarks."""

    connects: int = 0
    published: int = 0
    acked: int = 0
    rejected: int = 0
    last_error: str | None = None
    """Why the last connection attempt failed (cleared once connected)."""
    delivery_error: str | None = None
    """A message the broker cannot take (too large): stays until the node restarts."""
    ack_latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=4096))
    """Publish-to-PUBACK seconds of the most recent acknowledgements."""


class MqttLink:
    """Delivers the outbox of one destination over MQTT with QoS 1."""

    def __init__(
        self,
        dest: DestinationConfig,
        node: NodeConfig,
        outbox: Outbox,
        *,
        window: int = 32,
        max_chunks_inflight: int = 4,
        backoff: Backoff | None = None,
        on_ack: Callable[[str, list[Pending]], None] | None = None,
    ) -> None:
        self.dest = dest
        self.outbox = outbox
        self.root = topics.TopicRoot(dest.topic_prefix, node.site, node.id)
        self.client_id = f"{node.site}-{node.id}-{dest.name}"
        self.window = window
        self.max_chunks_inflight = max_chunks_inflight
        self._window_now = window
        self.broker_max_packet: int | None = None
        """The broker's Maximum Packet Size (MQTT 5 CONNACK), when it announces one."""
        self.inferred_max_packet: int | None = None
        """A limit guessed from connections dropped while a large message was in flight."""
        self.stats = LinkStats()
        self._bucket = TokenBucket(dest.bandwidth_bps) if dest.bandwidth_bps else None
        self._suspects: dict[str, int] = {}  # message id -> connections lost while in flight
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._on_ack = on_ack
        self._ctx = client_context(dest)  # raises TlsSetupError naming the file
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._client: mqtt.Client | None = None
        self._generation = 0
        self._accepted = 0  # the last generation the broker accepted (CONNACK)
        self._acks: queue.SimpleQueue[tuple[int, int, bool]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        if dest.allow_insecure:
            log.warning(
                "mqtt.insecure",
                destination=dest.name,
                tls=dest.tls is not None,
                verify_hostname=bool(dest.tls and dest.tls.verify_hostname),
                note="allow_insecure = true: not for a production link",
            )

    # -- public ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the broker has accepted our connection."""
        return self._connected.is_set()

    def start(self) -> None:
        """Start the network and sender threads."""
        for target, name in ((self._network, "net"), (self._sender, "send")):
            t = threading.Thread(target=target, name=f"mqtt-{self.dest.name}-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def alive(self) -> bool:
        """True while both threads run (for the watchdog)."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def wake(self) -> None:
        """Tell the sender that the outbox has something new."""
        self._wake.set()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected or *timeout*; returns whether connected."""
        return self._connected.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Publish a retained ``offline`` status, disconnect and join the threads."""
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)

    # -- network thread -------------------------------------------------------------------

    def _status(self, state: str) -> bytes:
        return json.dumps(
            {"state": state, "version": __version__, "time": time.time()},
            separators=(",", ":"),
        ).encode()

    def _new_client(self) -> mqtt.Client:
        v5 = self.dest.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else True,
            reconnect_on_failure=False,
        )
        if self._ctx is not None:
            client.tls_set_context(self._ctx)
            client.tls_insecure_set(not self._ctx.check_hostname)
        # paho must never queue one of ours: a queued message can be overtaken by the next
        # publish() from this thread. Headroom for the status messages of on_connect/stop.
        client.max_inflight_messages_set(self.window + 4)
        # Only the network thread may touch the socket. Without a loop thread of paho's own,
        # publish() writes to the socket from the calling thread, racing the network thread:
        # packets leave out of order, and interleaved TLS writes break the connection. With a
        # (no-op) write-registration callback paho leaves all writing to our loop, which the
        # socket pair wakes.
        client.on_socket_register_write = _leave_writing_to_the_loop
        client.max_queued_messages_set(0)
        client.will_set(self.root(topics.STATUS), self._status("offline"), qos=1, retain=True)
        generation = self._generation
        client.on_connect = self._make_on_connect(generation)
        client.on_disconnect = self._make_on_disconnect(generation)
        client.on_publish = self._make_on_publish(generation)
        return client

    def _make_on_connect(self, generation: int) -> Callable[..., None]:
        def on_connect(client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if reason.is_failure:
                self.stats.last_error = f"broker refused connection: {reason}"
                log.error("mqtt.refused", destination=self.dest.name, reason=str(reason))
                client.disconnect()
                return
            self.stats.connects += 1
            self.stats.last_error = None
            self._backoff.reset()
            limit = getattr(_p, "MaximumPacketSize", None) if _p is not None else None
            self.broker_max_packet = int(limit) if limit else None
            receive = getattr(_p, "ReceiveMaximum", None) if _p is not None else None
            # the broker takes this many unacknowledged publishes: keep one for the status
            self._window_now = (
                max(1, min(self.window, int(receive) - 1)) if receive else self.window
            )
            client.publish(self.root(topics.STATUS), self._status("online"), qos=1, retain=True)
            self._accepted = generation
            self._connected.set()
            self._wake.set()
            log.info(
                "mqtt.connected",
                destination=self.dest.name,
                host=self.dest.host,
                port=self.dest.port,
                generation=generation,
            )

        return on_connect

    def _make_on_disconnect(self, generation: int) -> Callable[..., None]:
        def on_disconnect(_c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            was = self._connected.is_set()
            self._connected.clear()
            self._wake.set()
            if was and not self._stop.is_set():
                log.warning(
                    "mqtt.disconnected",
                    destination=self.dest.name,
                    reason=str(reason),
                    generation=generation,
                )

        return on_disconnect

    def _make_on_publish(self, generation: int) -> Callable[..., None]:
        def on_publish(_c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
            # Runs in paho's loop holding paho's locks: only hand over, never block here.
            ok = not getattr(reason, "is_failure", False)
            self._acks.put((generation, mid, ok))
            self._wake.set()

        return on_publish

    def _network(self) -> None:
        while not self._stop.is_set():
            self._generation += 1
            client = self._new_client()
            self._client = client
            try:
                client.connect(self.dest.host, self.dest.port, keepalive=self.dest.keepalive_s)
            except (OSError, ssl.SSLError, ValueError) as e:
                self._fail(e)
                continue
            clean_exit = self._run_loop(client)
            self._connected.clear()
            self._wake.set()
            if clean_exit:
                return
            self._stop.wait(self._backoff.next())

    def _run_loop(self, client: mqtt.Client) -> bool:
        """Run paho's loop until the link drops (False) or we are stopped (True)."""
        connack_deadline = time.monotonic() + max(10.0, self.dest.keepalive_s)
        accepted = False  # did the broker accept this connection (CONNACK)?
        while not self._stop.is_set():
            try:
                rc = client.loop(timeout=0.2)
            except (OSError, ssl.SSLError) as e:
                self._report_lost(e, accepted)
                return False
            accepted = accepted or self._accepted == self._generation
            if rc != mqtt.MQTT_ERR_SUCCESS:
                if accepted or self.stats.last_error is None:
                    self._report_lost(None, accepted)
                return False
            if not accepted and time.monotonic() > connack_deadline:
                self._report_lost(TimeoutError("no CONNACK from broker"), accepted)
                client.disconnect()
                return False
        if self._connected.is_set():
            client.publish(self.root(topics.STATUS), self._status("offline"), qos=1, retain=True)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline and client.want_write():
                client.loop(timeout=0.05)
            client.disconnect()
            client.loop(timeout=0.1)
        return True

    def _report_lost(self, exc: BaseException | None, accepted: bool) -> None:
        if not accepted:
            if exc is not None:
                why = explain(exc)
            elif self._ctx is not None and self.dest.tls and self.dest.tls.cert:
                why = (
                    "broker closed the connection before accepting it: its TLS 1.3 handshake "
                    "rejected the client certificate (unknown CA, expired or revoked), which "
                    "TLS 1.3 reports only after connect"
                )
            else:
                why = "broker closed the connection before accepting it"
            self.stats.last_error = why
            log.error("mqtt.connect_failed", destination=self.dest.name, reason=why)
        else:
            log.warning(
                "mqtt.link_lost",
                destination=self.dest.name,
                reason=explain(exc) if exc else "connection lost",
            )

    def _fail(self, exc: BaseException) -> None:
        why = explain(exc)
        if why != self.stats.last_error:
            log.error(
                "mqtt.connect_failed",
                destination=self.dest.name,
                host=self.dest.host,
                port=self.dest.port,
                reason=why,
            )
        self.stats.last_error = why
        self._stop.wait(self._backoff.next())

    # -- sender thread --------------------------------------------------------------------

    def _sender(self) -> None:
        inflight: dict[int, tuple[Pending, float]] = {}  # mid -> (message, sent at)
        refused: set[int] = set()  # not sendable on this connection: retried after a reconnect
        generation = 0
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            try:
                if generation != self._generation or not self._connected.is_set():
                    self._note_lost(inflight)
                    inflight.clear()  # those stay in the outbox and go again after reconnect
                    refused.clear()
                    generation = self._generation
                self._drain_acks(inflight, refused, generation)
                client = self._client
                if client is None or not self._connected.is_set():
                    continue
                self._send_some(client, inflight, refused)
            except Exception:  # delivery must outlive any bug or disk hiccup: retry shortly
                log.exception("mqtt.sender_failed", destination=self.dest.name)
                self._stop.wait(1.0)
                self._wake.set()

    def _send_some(
        self,
        client: mqtt.Client,
        inflight: dict[int, tuple[Pending, float]],
        refused: set[int],
    ) -> None:
        room = self._window_now - len(inflight)
        if room <= 0:
            return
        chunks = sum(1 for p, _ in inflight.values() if p.message.priority is Priority.CLIP)
        # clip chunks are few at a time, so alarms and events always find the line short
        top = Priority.EVENT if chunks >= self.max_chunks_inflight else None
        skip = [p.seq for p, _ in inflight.values()] + list(refused)
        for p in self.outbox.pending(self.dest.name, room, skip=skip, max_priority=top):
            if p.message.priority is Priority.CLIP:
                if chunks >= self.max_chunks_inflight:
                    break
                chunks += 1
            if not self._publish(client, p, inflight, refused):
                break

    def _publish(
        self,
        client: mqtt.Client,
        p: Pending,
        inflight: dict[int, tuple[Pending, float]],
        refused: set[int],
    ) -> bool:
        """Publish one message; False when the loop should stop for now."""
        m = p.message
        try:
            payload = m.body()
        except FileNotFoundError as e:
            self.outbox.drop([p.seq], "file_gone")
            log.error("mqtt.payload_gone", destination=self.dest.name, id=m.id, error=str(e))
            return True
        topic = self.root(m.topic)
        size = len(payload) + len(topic) + 64
        limit = self.broker_max_packet or self.inferred_max_packet
        if limit is not None and size > limit:
            refused.add(p.seq)
            self._too_big(m.id, size, limit, announced=self.broker_max_packet is not None)
            return True
        if self._suspects.get(m.id, 0) >= SUSPECT_AFTER:
            refused.add(p.seq)  # reported in _note_lost; kept in the outbox
            return True
        if self._bucket is not None and not self._bucket.take(len(payload), self._stop):
            return False
        props = None
        if self.dest.protocol == "5":
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.UserProperty = [("id", m.id), ("kind", m.kind), *m.properties]
            if m.expires is not None:
                props.MessageExpiryInterval = max(1, int(m.expires - time.time()))
        info = client.publish(topic, payload, qos=1, retain=m.retain, properties=props)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            # publish() may write to the socket right here and find the broker gone: the
            # message was on the wire when the link died (counted for oversize suspicion);
            # a negative key never matches a PUBACK
            inflight[-p.seq] = (p, time.monotonic())
            self._wake.set()
            return False
        inflight[info.mid] = (p, time.monotonic())
        self.stats.published += 1
        return True

    def _too_big(self, msg_id: str, size: int, limit: int, *, announced: bool) -> None:
        source = "its Maximum Packet Size" if announced else "inferred from dropped connections"
        why = (
            f"message {msg_id} is {size} bytes, over the broker's packet size limit of {limit} "
            f"bytes ({source}): lower outbox.chunk_size; the message stays queued"
        )
        if why != self.stats.delivery_error:
            log.error(
                "mqtt.packet_too_large",
                destination=self.dest.name,
                id=msg_id,
                bytes=size,
                broker_limit=limit,
            )
        self.stats.delivery_error = why

    def _note_lost(self, inflight: dict[int, tuple[Pending, float]]) -> None:
        """The connection dropped with messages in flight. A large message in flight each time
        the broker drops us is likely over a limit the broker does not announce (MQTT 3.1.1):
        after SUSPECT_AFTER times nothing that large is sent any more, and it is reported."""
        if not inflight:
            return
        big = max(inflight.values(), key=lambda x: x[0].message.length or len(x[0].message.payload))
        m = big[0].message
        size = m.length or len(m.payload)
        if size < 16 * 1024:
            return
        n = self._suspects[m.id] = self._suspects.get(m.id, 0) + 1
        if n == SUSPECT_AFTER:
            self.inferred_max_packet = min(self.inferred_max_packet or size, size - 1)
            self.stats.delivery_error = (
                f"the broker dropped the connection {n} times while message {m.id} "
                f"({size} bytes) was in flight: probably over its packet size limit (MQTT "
                "3.1.1 brokers do not announce it); lower outbox.chunk_size. Messages this "
                "large stay queued"
            )
            log.error("mqtt.packet_suspect", destination=self.dest.name, id=m.id, bytes=size)

    def _drain_acks(
        self, inflight: dict[int, tuple[Pending, float]], refused: set[int], generation: int
    ) -> None:
        done: list[Pending] = []
        now = time.monotonic()
        while True:
            try:
                gen, mid, ok = self._acks.get_nowait()
            except queue.Empty:
                break
            if gen != generation or mid not in inflight:
                continue  # from an earlier connection: it will be sent again
            pending, sent = inflight.pop(mid)
            if ok:
                done.append(pending)
                self.stats.ack_latency_s.append(now - sent)
                self._suspects.pop(pending.message.id, None)
            else:
                self.stats.rejected += 1
                refused.add(pending.seq)
                log.error(
                    "mqtt.publish_rejected",
                    destination=self.dest.name,
                    id=pending.message.id,
                    topic=pending.message.topic,
                )
        if done:
            self.outbox.ack(self.dest.name, [p.seq for p in done])
            self.stats.acked += len(done)
            if self._on_ack:
                self._on_ack(self.dest.name, done)
            self._wake.set()


def _leave_writing_to_the_loop(_client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
    """paho write-registration hook: the network thread's loop() writes; nothing to do."""


class TokenBucket:
    """A bandwidth cap: at most *rate* bytes per second, bursts up to one second's worth."""

    def __init__(self, rate: int) -> None:
        self.rate = float(rate)
        self._tokens = float(rate)
        self._last = time.monotonic()

    def take(self, n: int, stop: threading.Event) -> bool:
        """Wait until *n* bytes may go; False when stopped meanwhile."""
        while True:
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= min(n, self.rate):
                self._tokens -= n
                return True
            if stop.wait((min(n, self.rate) - self._tokens) / self.rate):
                return False


__all__ = ["LinkStats", "MqttLink", "TlsSetupError"]
