"""Ingest: one paho MQTT 5 client with a persistent session (clean start off, a session
expiry of days) so the broker queues while the receiver restarts, QoS 1 and manual acks. A
message is checked on arrival, committed with its batch, and only then acknowledged to the
broker: what the broker forgets is stored (at least once end to end; the store's ids make it
exactly once). Acknowledgements go in arrival order, as MQTT requires.

Every message the broker delivers becomes an :class:`Arrival` and is acknowledged once its
verdict is stored, whatever it holds: one that cannot even be read (a topic that is not
UTF-8, properties paho cannot decode) arrives with its :attr:`Arrival.problem` and is
quarantined, never left unacknowledged to come back on every reconnect."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.core.logs import get_logger
from edge.evidence.signing import payload_sha256
from edge.receiver.config import ReceiverConfig
from edge.receiver.messages import Reason, Rejected, Verdict
from edge.receiver.mqttclient import ReceiverClient
from edge.receiver.presence import LinkWatch
from edge.receiver.trust import Checker
from edge.receiver.validate import safe_text
from edge.wire.mqtt5 import (
    Client,
    ConnectFlags,
    MQTTMessage,
    ReasonCode,
    connect_properties,
    use_tls,
    user_properties,
)
from edge.wire.tls import tls_context

log = get_logger(__name__)

_REKEY = (Reason.UNKNOWN_NODE, Reason.UNKNOWN_KEY)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A message waiting for its check and commit, and how to acknowledge it."""

    connection: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    props: dict[str, str]
    problem: str = ""
    """Why the message could not be read as MQTT (it is quarantined as malformed)."""


class Ingest:
    """The MQTT side of the receiver: fills :attr:`arrivals`, acknowledges on request."""

    def __init__(
        self, cfg: ReceiverConfig, checker: Checker, reload_keys: Callable[[], None]
    ) -> None:
        self.cfg = cfg
        self.checker = checker
        self._reload_keys = reload_keys
        self._reloaded = 0.0
        self._reload_lock = threading.Lock()
        self.arrivals: queue.Queue[Arrival] = queue.Queue()
        self.connection = 0
        """Counts connections: acks for messages of an earlier one are never sent (the
        broker sends those again on the new one)."""
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.link = LinkWatch(cfg.supervision.restart_grace_s)
        """When the broker connection was down (a broker restart sends every will)."""
        self._stopping = False
        self._held = False
        """Set by :meth:`hold`: arrivals are no longer queued (nor acknowledged)."""
        b = cfg.broker
        self.client = ReceiverClient(cfg.client_id, manual_ack=True)
        use_tls(self.client, tls_context(b.tls, "broker.tls"))
        self.client.reconnect_delay_set(1, 30)
        self.client.max_inflight_messages_set(b.receive_maximum)
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message
        self.client.on_subscribe = self._subscribed
        self.client.on_undecodable = self._undecodable

    def start(self) -> None:
        """Connect (retrying in the background until the broker answers)."""
        b = self.cfg.broker
        props = connect_properties(
            session_expiry_s=b.session_expiry_s, receive_maximum=b.receive_maximum
        )
        self.client.connect_async(
            b.host, b.port, keepalive=b.keepalive_s, clean_start=False, properties=props
        )
        self.client.loop_start()

    def hold(self) -> None:
        """Queue no more arrivals (the first step of a stop): what arrives from now on is
        never acknowledged, so the broker sends it again next time, while what is queued
        can still be committed and acknowledged before :meth:`stop` disconnects."""
        self._held = True

    def stop(self) -> None:
        """Disconnect; unacknowledged messages stay with the broker for next time."""
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def dead(self) -> str | None:
        """Why the MQTT network thread ended though nobody stopped it (None: alive)."""
        if self._stopping or not self.client.loop_ended.is_set():
            return None
        return self.client.loop_error or "its loop returned"

    def ack(self, arrivals: list[Arrival]) -> None:
        """Acknowledge committed messages (in arrival order) of the current connection."""
        for a in arrivals:
            if a.qos > 0 and a.connection == self.connection:
                self.client.ack(a.mid, a.qos)

    def _connected(
        self, client: Client, _u: object, flags: ConnectFlags, reason: ReasonCode, _p: object
    ) -> None:
        if reason.is_failure:
            log.error("receiver.refused", broker=self.cfg.broker.host, reason=str(reason))
            return
        self.connection += 1
        self.link.back()
        client.subscribe(self.cfg.topic_filter, qos=1)
        self.connected.set()
        log.info(
            "receiver.connected",
            broker=self.cfg.broker.host,
            session_present=flags.session_present,
            topic=self.cfg.topic_filter,
        )

    def _subscribed(
        self, _c: object, _u: object, _mid: int, reasons: list[ReasonCode], _p: object
    ) -> None:
        granted = [r.value for r in reasons]
        if any(g >= 0x80 for g in granted):  # MQTT 5 failure reason codes
            log.error("receiver.subscribe_refused", topic=self.cfg.topic_filter, codes=granted)
            return
        self.subscribed.set()
        log.info("receiver.subscribed", topic=self.cfg.topic_filter)

    def _disconnected(
        self, _c: object, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        self.connected.clear()
        self.subscribed.clear()
        self.link.lost()
        log.warning("receiver.disconnected", reason=str(reason))

    def _message(self, _c: object, _u: object, msg: MQTTMessage) -> None:
        if self._held:
            return
        problem = ""
        try:
            topic = msg.topic
        except UnicodeDecodeError as e:
            topic, problem = "", f"the topic is not UTF-8: {e}"
        try:
            props = user_properties(msg.properties)
        except (TypeError, ValueError) as e:
            props, problem = {}, f"unreadable user properties: {e}"
        payload = bytes(msg.payload)
        self.arrivals.put(
            Arrival(self.connection, msg.mid, msg.qos, topic, payload, props, problem)
        )

    def _undecodable(self, mid: int, qos: int, topic: bytes, payload: bytes, problem: str) -> None:
        text = topic.decode("utf-8", "backslashreplace")
        problem = f"MQTT properties paho cannot decode: {problem}"
        if not self._held:
            self.arrivals.put(Arrival(self.connection, mid, qos, text, payload, {}, problem))

    def check(self, a: Arrival) -> Verdict:
        """The verdict on *a* (thread-safe: the writer checks a batch on several threads).
        A message of an unknown node or key reloads the enrolled keys (at most once a
        second) and is checked again: it may have been enrolled a moment ago."""
        if a.problem:
            return Rejected(Reason.MALFORMED, safe_text(a.problem), safe_text(a.topic), a.payload,
                            payload_sha256(a.payload))  # fmt: skip
        verdict = self.checker.check(a.topic, a.payload, a.props)
        if isinstance(verdict, Rejected) and verdict.reason in _REKEY:
            with self._reload_lock:
                now = time.monotonic()
                if now - self._reloaded > 1:
                    self._reloaded = now
                    self._reload_keys()
            verdict = self.checker.check(a.topic, a.payload, a.props)
        return verdict
