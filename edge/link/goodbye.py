"""A clean stop on one connection: the node's retained ``offline`` and nothing else.

The broker publishes the node's last will only when the connection ends without a
DISCONNECT it has read (MQTT 3.1.1 and MQTT 5: a DISCONNECT with reason 0, normal
disconnection, discards the will). paho writes the DISCONNECT and closes the socket at
once; if a PUBACK is still unread in the socket then, the kernel answers the close with a
TCP reset, and the broker can lose the DISCONNECT with it: a stopped node then shows two
``offline`` statuses, its own and the will. So :func:`say_offline` waits for the PUBACK of
its ``offline``, sends the DISCONNECT, and before the socket is closed reads until the
broker closes its side (bounded), so the close is a plain FIN.
"""

from __future__ import annotations

import select
import socket
import time
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt

from edge.core.logs import get_logger
from edge.wire.mqtt5 import normal_disconnection

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

log = get_logger(__name__)

ACK_WAIT_S = 1.0
"""How long the ``offline`` status may wait for its PUBACK."""
DRAIN_S = 0.5
"""How long the socket is read, after the DISCONNECT, for the broker to close its side."""


def drain_then_close(sock: socket.socket, timeout: float = DRAIN_S) -> bool:
    """Read and drop what arrives on *sock* until the peer closes it or *timeout* passes;
    returns whether the peer closed. Called as paho's ``on_socket_close`` hook (after the
    DISCONNECT was written, before paho closes the socket): nothing is left unread at the
    close, so no reset goes out."""
    try:
        sock.shutdown(socket.SHUT_WR)  # FIN after the DISCONNECT (TLS: the record layer is left)
    except OSError:
        return False
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            ready, _, _ = select.select([sock], [], [], left)
            if ready and not socket.socket.recv(sock, 65536):
                return True
        except BlockingIOError:
            continue
        except (OSError, ValueError):
            return False
    return False


def _on_close(_client: mqtt.Client, _userdata: object, sock: SocketLike) -> None:
    if isinstance(sock, socket.socket):  # TCP or TLS (this project uses no websockets)
        drain_then_close(sock)


def say_offline(client: mqtt.Client, topic: str, payload: bytes, destination: str) -> bool:
    """Publish *payload* (the retained ``offline``) on *topic* with QoS 1, wait up to
    :data:`ACK_WAIT_S` for its PUBACK, then disconnect normally (reason 0, so the broker
    drops the will) and close without a reset. Run on the thread that owns *client*'s loop.
    Returns whether the broker acknowledged the status."""
    info = client.publish(topic, payload, qos=1, retain=True)
    deadline = time.monotonic() + ACK_WAIT_S
    while not info.is_published() and time.monotonic() < deadline:
        if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
            log.warning("mqtt.offline_not_sent", destination=destination, why="connection lost")
            return False
    acked = info.is_published()
    if not acked:
        log.warning("mqtt.offline_unacknowledged", destination=destination, waited_s=ACK_WAIT_S)
    client.on_socket_close = _on_close
    client.disconnect(normal_disconnection())
    deadline = time.monotonic() + ACK_WAIT_S
    while client.socket() is not None and time.monotonic() < deadline:
        client.loop(timeout=0.05)
    return acked
