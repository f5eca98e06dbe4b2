"""One MQTT link to one destination: drains that destination's outbox cursor.

Two threads per link. The *network* thread owns the paho client: it connects (with jittered
backoff), runs paho's loop, and creates a fresh client for every connection so nothing is
ever queued in paho's memory across a reconnect. The *sender* thread takes pending messages
from the outbox, publishes them with QoS 1 within a window, and acknowledges them in the
outbox when the broker's PUBACK comes back (:mod:`edge.link.acks`); a message the broker
refuses is tried again, holding its class's later messages (:mod:`edge.link.refusals`).
Until then they stay on disk. Reconnects back off from 1 s to ``reconnect_max_s``, or longer
while another process takes our client id over (:mod:`edge.link.takeover`).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig
from edge.core.backoff import Backoff
from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.link.acks import Books, Inflight, PubAcks
from edge.link.bandwidth import TokenBucket
from edge.link.certrefused import CertRefusals
from edge.link.goodbye import say_offline
from edge.link.linkstats import LinkStats
from edge.link.mqtt_client import (
    new_client,
    publish_properties,
    refusal,
    session_options,
    set_will,
    status_payload,
)
from edge.link.packet_limit import PacketLimit
from edge.link.reconnects import ReconnectLog
from edge.link.refusals import RETRY_MAX_S, Refusals
from edge.link.takeover import TakeoverWatch
from edge.outbox.memory import MemoryOffers
from edge.outbox.message import OutboxMessage, Pending, Priority
from edge.outbox.store import Outbox
from edge.wire import mqtt5, topics
from edge.wire.mqtt5 import DisconnectFlags, Properties, ReasonCode
from edge.wire.tls import TlsSetupError, client_context, explain

log = get_logger(__name__)


class MqttLink(Worker):
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
        refusal_retry_max_s: float = RETRY_MAX_S,
        books: Books | None = None,
    ) -> None:
        super().__init__(f"mqtt-{dest.name}")
        self.dest = dest
        self.outbox = outbox
        self.root = topics.TopicRoot(dest.topic_prefix, node.site, node.id)
        self.client_id = f"{node.site}-{node.id}-{dest.name}"
        self.window = window
        self.max_chunks_inflight = max_chunks_inflight
        self._window_now = window
        self.packets = PacketLimit()
        self.stats = LinkStats()
        self._bucket = TokenBucket(dest.bandwidth_bps) if dest.bandwidth_bps else None
        self._backoff = backoff or Backoff(1.0, dest.reconnect_max_s)
        self._takeover = TakeoverWatch(dest.name, self.client_id, self.stats, self._backoff.maximum)
        self._ctx = client_context(dest)  # raises TlsSetupError naming the file
        self._stop = self.stopping
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._client: mqtt.Client | None = None
        self._generation = 0
        self._accepted = 0  # the last generation the broker accepted (CONNACK)
        self._refused = 0  # the last generation the broker refused (CONNACK), saying why
        self._certs = CertRefusals(dest, self.stats)  # a refused client certificate, told
        self.memory = MemoryOffers()  # what the outbox could not store: sent from memory
        self._reconnects = ReconnectLog(dest.name)
        self._lost: tuple[str, bool] = ("connection lost", False)  # why, and was it accepted
        self.refusals = Refusals(dest.name, self.stats, self.root, retry_max_s=refusal_retry_max_s)
        self._acks = PubAcks(
            dest.name,
            outbox,
            self.stats,
            self.packets,
            self.refusals,
            wake=self._wake,
            on_ack=on_ack,
            books=books,
            memory=self.memory,
        )
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

    @property
    def reconnect_max_s(self) -> float:
        """Longest wait between reconnect attempts (the ordinary backoff's cap)."""
        return self._backoff.maximum

    def start(self) -> None:
        """Start the network and sender threads."""
        if self.dest.protocol == "3.1.1":  # validation let it through only with the flag
            log.warning(
                "mqtt.unconfirmed_delivery",
                destination=self.dest.name,
                note="MQTT 3.1.1 PUBACKs cannot refuse: a message the broker drops (ACL) "
                "is recorded as delivered (accept_unconfirmed_delivery = true)",
            )
        self.spawn(self._network, f"mqtt-{self.dest.name}-net")
        self.spawn(self._sender, f"mqtt-{self.dest.name}-send")

    def alive(self) -> bool:
        """True while both threads run (for the watchdog)."""
        return bool(self.threads) and self.health().alive

    def offer(self, message: OutboxMessage) -> None:
        """A message the outbox could not store (a full disk): sent once from memory as soon
        as connected (:mod:`edge.outbox.memory`); its sender keeps it until it is stored."""
        if self.memory.offer(message):
            self._wake.set()

    def wake(self) -> None:
        """Tell the sender that the outbox has something new."""
        self._wake.set()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected or *timeout*; returns whether connected."""
        return self._connected.wait(timeout)

    def _stopping(self) -> None:
        """Publish a retained ``offline`` status and disconnect (the network thread does)."""
        self._wake.set()

    # -- network thread -------------------------------------------------------------------

    def _status(self, state: str) -> bytes:
        return status_payload(state, self._since)

    def _new_client(self) -> mqtt.Client:
        client = new_client(self.dest, self.client_id, self._ctx, self.window)
        self._since = time.time()  # when this connection began: its statuses and will say so
        set_will(client, self.dest, self.root(topics.STATUS), self._since)
        generation = self._generation
        client.on_connect = self._make_on_connect(generation)
        client.on_disconnect = self._make_on_disconnect(generation)
        client.on_publish = self._acks.callback(generation)
        self._certs.hook(client)
        return client

    def _make_on_connect(self, generation: int) -> mqtt5.OnConnect:
        def on_connect(
            client: mqtt.Client, _u: object, _f: object, reason: ReasonCode, p: Properties | None
        ) -> None:
            if reason.is_failure:  # logged with the attempt (rate-limited)
                self.stats.last_error = f"broker refused connection: {reason}"
                self._refused = generation
                client.disconnect()
                return
            self.stats.connects += 1
            self._reconnects.connected()
            self._certs.connected()
            self.stats.last_error = self._takeover.note  # None unless the id seems taken
            self._takeover.connected(time.monotonic())
            self._backoff.reset()
            limits = mqtt5.ServerLimits.of(p)
            self.packets.announced, receive = limits.maximum_packet_size, limits.receive_maximum
            # the broker takes this many unacknowledged publishes: keep one for the status
            self._window_now = max(1, min(self.window, receive - 1)) if receive else self.window
            client.publish(self.root(topics.STATUS), self._status("online"), qos=1, retain=True)
            self._accepted = generation
            self._connected.set()
            self._wake.set()
            log.info("mqtt.connected", destination=self.dest.name, host=self.dest.host,
                     port=self.dest.port, generation=generation)  # fmt: skip

        return on_connect

    def _make_on_disconnect(self, generation: int) -> mqtt5.OnDisconnect:
        def on_disconnect(
            _c: object, _u: object, flags: DisconnectFlags, reason: ReasonCode, _p: object
        ) -> None:
            code, by_broker = self._takeover.heard(reason, flags)
            was = self._connected.is_set()
            self._connected.clear()
            self._wake.set()
            if was and not self._stop.is_set():
                log.warning(
                    "mqtt.disconnected",
                    destination=self.dest.name,
                    reason=str(reason),
                    code=code,
                    by_broker=by_broker,
                    generation=generation,
                )

        return on_disconnect

    def _network(self) -> None:
        while not self._stop.is_set():
            self._generation += 1
            client = self._new_client()
            self._client = client
            try:
                client.connect(self.dest.host, self.dest.port, keepalive=self.dest.keepalive_s,
                               **session_options(self.dest))  # fmt: skip
            except (OSError, ssl.SSLError, ValueError) as e:
                self._fail(e)
                continue
            clean_exit = self._run_loop(client)
            self._connected.clear()
            self._wake.set()
            if clean_exit:
                return
            delay = self._retry_delay()
            why, accepted = self._lost
            if accepted:
                self._reconnects.lost(why, delay)
            else:
                self._reconnects.failed(why, delay)
            self._stop.wait(delay)

    def _retry_delay(self) -> float:
        """The wait after a lost connection: long while another client takes our id."""
        if self._accepted == self._generation:  # the broker had accepted this one
            away = self._takeover.dropped(time.monotonic())
            if away is not None:
                return away
        return self._backoff.next()

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
            if accepted:
                self._takeover.still_connected(time.monotonic())
            if rc != mqtt.MQTT_ERR_SUCCESS:
                if accepted or self._refused != self._generation:
                    self._report_lost(None, accepted)
                else:  # the broker said why (CONNACK); never an earlier attempt's reason
                    self._lost = (self.stats.last_error or "refused", False)
                return False
            if not accepted and time.monotonic() > connack_deadline:
                self._report_lost(TimeoutError("no CONNACK from broker"), accepted)
                client.disconnect()
                return False
        if self._connected.is_set():  # acknowledged, then a DISCONNECT that drops the will
            say_offline(client, self.root(topics.STATUS), self._status("offline"), self.dest.name)
        return True

    def _report_lost(self, exc: BaseException | None, accepted: bool) -> None:
        """Note why the connection ended (logged with the backoff by the network loop)."""
        if not accepted:
            why = self._certs.judge(exc) or refusal(exc, self.dest, tls=self._ctx is not None)
            self.stats.last_error = why
        else:
            why = explain(exc) if exc else "connection lost"
        self._lost = (why, accepted)

    def _fail(self, exc: BaseException) -> None:
        why = self._certs.judge(exc) or explain(exc)
        self.stats.last_error = why
        delay = self._backoff.next()
        self._reconnects.failed(why, delay, host=self.dest.host, port=self.dest.port)
        self._stop.wait(delay)

    # -- sender thread --------------------------------------------------------------------

    def _sender(self) -> None:
        inflight: Inflight = {}  # mid -> (message, sent at)
        oversize: set[int] = set()  # not sendable on this connection: tried after a reconnect
        generation = 0
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            try:
                if generation != self._generation or not self._connected.is_set():
                    self._note_lost(inflight)
                    inflight.clear()  # those stay in the outbox and go again after reconnect
                    self.memory.connection_lost(generation)
                    oversize.clear()
                    generation = self._generation
                self._acks.drain(inflight, generation)
                client = self._client
                if client is not None and self._connected.is_set():
                    self._send_some(client, inflight, oversize)
                    self._takeover.on_the_wire(p.message for p, _ in inflight.values())
            except Exception:  # delivery must outlive any bug or disk hiccup: retry shortly
                log.exception("mqtt.sender_failed", destination=self.dest.name)
                self._stop.wait(1.0)
                self._wake.set()

    def _send_some(self, client: mqtt.Client, inflight: Inflight, oversize: set[int]) -> None:
        room = self._window_now - len(inflight)
        if room <= 0:
            return
        for offered in self.memory.take(room, self._generation):  # not storable: from memory
            if not self._publish(client, Pending(0, offered), inflight, oversize):
                return
            room -= 1
        booked = self._acks.books.unsettled(self.dest.name)  # delivered, books still open
        busy = {p.seq for p, _ in inflight.values()} | set(booked)
        for head in self.refusals.due(time.monotonic(), busy | oversize):  # next try
            if room <= 0 or not self._publish(client, head, inflight, oversize):
                return
            room -= 1
        chunks = sum(1 for p, _ in inflight.values() if p.message.priority is Priority.CLIP)
        # clip chunks are few at a time, so alarms and events always find the line short
        top = Priority.EVENT if chunks >= self.max_chunks_inflight else None
        skip = oversize | busy  # heads sent and messages delivered but not yet booked included
        for p in self.refusals.pending(self.outbox, self.dest.name, room, skip, top):
            if p.message.priority is Priority.CLIP:
                if chunks >= self.max_chunks_inflight:
                    break
                chunks += 1
            if not self._publish(client, p, inflight, oversize):
                break

    def _publish(
        self, client: mqtt.Client, p: Pending, inflight: Inflight, oversize: set[int]
    ) -> bool:
        """Publish one message; False when the loop should stop for now."""
        m = p.message
        try:
            payload = m.body()
        except FileNotFoundError as e:
            self.outbox.drop([p.seq], "file_gone")
            self.refusals.forget(p)
            log.error("mqtt.payload_gone", destination=self.dest.name, id=m.id, error=str(e))
            return True
        topic = self.root(m.topic)
        size = len(payload) + len(topic) + 64
        why = self.packets.too_big(m.id, size)
        if why is not None:
            oversize.add(p.seq)  # kept in the outbox
            if why and why != self.stats.delivery_error:
                log.error("mqtt.packet_too_large", destination=self.dest.name, id=m.id, bytes=size)
            self.stats.delivery_error = why or self.stats.delivery_error
            return True
        if self._bucket is not None and not self._bucket.take(len(payload), self._stop):
            return False
        info = client.publish(
            topic, payload, qos=1, retain=m.retain, properties=publish_properties(self.dest, m)
        )
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

    def _note_lost(self, inflight: Inflight) -> None:
        """The connection dropped with messages in flight: one may be over the broker's limit."""
        why = self.packets.lost_with(p.message for p, _ in inflight.values())
        if why is not None:
            self.stats.delivery_error = why
            log.error("mqtt.packet_suspect", destination=self.dest.name, reason=why)


__all__ = ["LinkStats", "MqttLink", "TlsSetupError"]
