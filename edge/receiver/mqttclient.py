"""The receiver's paho client, with two things paho's own does not do.

A PUBLISH whose properties paho refuses to decode (a user property holding U+FEFF, which the
MQTT spec and mosquitto allow but paho takes for a malformed packet) would make paho drop
the connection; the broker then sends the same message again on the next one, forever, and
nothing behind it arrives. Here such a message is handed to :attr:`ReceiverClient.on_undecodable`
instead (topic, payload and packet id taken from the packet without its properties), so
the receiver can quarantine and acknowledge it like any other.

And the network thread's end is recorded: :attr:`ReceiverClient.loop_ended` is set when
``loop_forever`` returns or raises, which outside a stop means the thread died.

And a connection attempt that fails before MQTT (paho retries it in silence) is logged: a
broker name that does not resolve as ``broker.unresolved`` with the host, any other failure
(refused, unreachable, TLS) as ``broker.connect_failed`` with the reason; the first at once,
then one line every :data:`CONNECT_LOG_EVERY_S` with the attempts since; ``broker.reachable``
once an attempt gets through again."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.exception import MalformedPacket

from edge.core.logs import get_logger
from edge.core.ratelog import Repeats
from edge.wire.mqtt5 import client_options
from edge.wire.tls import explain

log = get_logger(__name__)

CONNECT_LOG_EVERY_S = 60.0
"""After the first, one line per this many seconds while connection attempts fail."""

Undecodable = Callable[[int, int, bytes, bytes, str], None]
"""``(packet id, qos, topic bytes, payload, problem)`` of a PUBLISH paho could not decode."""


class ReceiverClient(mqtt.Client):
    """A paho client that hands over undecodable PUBLISH packets and records its loop's end."""

    def __init__(self, client_id: str, *, manual_ack: bool = False) -> None:
        """An MQTT 5 client with the project's settings (:func:`edge.wire.mqtt5.client_options`);
        with *manual_ack* the receiver acknowledges each message once it is stored."""
        super().__init__(**client_options(client_id, manual_ack=manual_ack))
        self.on_undecodable: Undecodable | None = None
        self.loop_ended = threading.Event()
        self.loop_error = ""
        """Why the network loop ended, when it raised."""
        self.connect_failures = Repeats(CONNECT_LOG_EVERY_S)
        """Connection attempts failed since the last that got through."""

    def reconnect(self) -> MQTTErrorCode:
        """paho's (re)connect, its failures logged (paho's loop retries them unlogged)."""
        try:
            rc = super().reconnect()
        except OSError as e:
            self._connect_failed(e)
            raise
        failed = self.connect_failures.cleared()
        if failed:
            log.info("broker.reachable", host=self.host, port=self.port, failed_attempts=failed)
        return rc

    def _connect_failed(self, e: OSError) -> None:
        covered = self.connect_failures.occurred()
        if covered is None:
            return
        fields = {"host": self.host, "port": self.port, "attempts": self.connect_failures.total,
                  "since_last_line": covered, "down_s": self.connect_failures.down_s()}  # fmt: skip
        if isinstance(e, socket.gaierror):
            log.error("broker.unresolved", error=str(e), **fields)
        else:
            log.error("broker.connect_failed", reason=explain(e), **fields)

    def loop_forever(
        self, timeout: float = 1.0, retry_first_connection: bool = False
    ) -> MQTTErrorCode:
        """paho's loop (``loop_start`` runs it on its thread), its end recorded."""
        try:
            return super().loop_forever(timeout, retry_first_connection)
        except BaseException as e:
            self.loop_error = f"{type(e).__name__}: {e}"
            log.exception("mqtt.loop_died", error=self.loop_error)
            raise
        finally:
            self.loop_ended.set()

    def _handle_publish(self) -> MQTTErrorCode:
        try:
            return super()._handle_publish()
        except MalformedPacket as e:
            return self._undecodable(str(e))

    def _undecodable(self, problem: str) -> MQTTErrorCode:
        """Take topic, packet id and payload from the PUBLISH in hand, skipping its
        properties, and hand them over; a packet too broken for that drops the
        connection, as paho would."""
        header = int(self._in_packet["command"])
        packet = bytes(self._in_packet["packet"])
        qos = (header & 0x06) >> 1
        try:
            (length,) = struct.unpack_from("!H", packet, 0)
            topic, pos = packet[2 : 2 + length], 2 + length
            mid = 0
            if qos > 0:
                (mid,) = struct.unpack_from("!H", packet, pos)
                pos += 2
            if self.protocol == mqtt.MQTTv5:
                size, used = _varint(packet, pos)
                pos += used + size
            if pos > len(packet) or len(topic) != length:
                raise ValueError("lengths past the end of the packet")
        except (struct.error, ValueError) as e:
            log.error("mqtt.publish_unreadable", problem=problem, error=str(e))
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        log.warning("mqtt.publish_undecodable", problem=problem, mid=mid, qos=qos)
        if self.on_undecodable is not None:
            self.on_undecodable(mid, qos, topic, packet[pos:], problem)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """MQTT variable byte integer at *pos*: (value, bytes used)."""
    value, shift = 0, 0
    for used in range(1, 5):
        if pos + used > len(data):
            break
        byte = data[pos + used - 1]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, used
        shift += 7
    raise ValueError("bad variable byte integer")
