"""MQTT as this project speaks it through paho, typed: the one module that builds paho's
MQTT 5 properties and reason codes and sets up a paho client.

paho's :class:`~paho.mqtt.properties.Properties` is untyped (its properties are attributes
set by name, checked only at run time): it is made and read here alone, behind functions
that take and return plain types. Everything else that speaks MQTT (the node's link, the
receiver's ingest, the demo's subscriber, the simulated fleet) builds its clients, its
CONNECT, PUBLISH and will properties, and its DISCONNECT reason here, and reads the
properties and reason codes paho hands to its callbacks through the types below.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

__all__ = [
    "Client",
    "ConnectFlags",
    "ConnectOptions",
    "DisconnectFlags",
    "MQTTMessage",
    "OnConnect",
    "OnDisconnect",
    "OnMessage",
    "OnPublish",
    "OnSocket",
    "OnSubscribe",
    "Properties",
    "ReasonCode",
    "ServerLimits",
]

UserProperties = Iterable[tuple[str, str]]
"""MQTT 5 user properties: (name, value) pairs, in order, names may repeat."""

OnConnect = Callable[[Client, object, ConnectFlags, ReasonCode, Properties | None], None]
"""paho's ``on_connect`` (callback API 2): client, userdata, flags, CONNACK reason, its
properties (None over MQTT 3.1.1)."""
OnDisconnect = Callable[[Client, object, DisconnectFlags, ReasonCode, Properties | None], None]
"""paho's ``on_disconnect``: the reason is the broker's DISCONNECT reason or paho's own
("Unspecified error" for a closed socket); the flags say which."""
OnPublish = Callable[[Client, object, int, ReasonCode, Properties], None]
"""paho's ``on_publish``: packet id and the PUBACK's reason (always Success over 3.1.1)."""
OnSubscribe = Callable[[Client, object, int, list[ReasonCode], Properties | None], None]
"""paho's ``on_subscribe``: packet id and the SUBACK's reason code per topic filter."""
OnMessage = Callable[[Client, object, MQTTMessage], None]
"""paho's ``on_message``."""
OnSocket = Callable[[Client, object, "SocketLike"], None]
"""paho's socket hooks (``on_socket_close``, ``on_socket_register_write``)."""


class ClientOptions(TypedDict):
    """paho ``Client()`` arguments, as every client of the project sets them."""

    callback_api_version: CallbackAPIVersion
    client_id: str
    protocol: MQTTProtocolVersion
    clean_session: bool | None
    reconnect_on_failure: bool
    manual_ack: bool


class ConnectOptions(TypedDict, total=False):
    """Session options of ``connect()``/``connect_async()`` (MQTT 5 only)."""

    clean_start: bool
    properties: Properties


def client_options(
    client_id: str,
    *,
    mqtt5: bool = True,
    manual_ack: bool = False,
    reconnect_on_failure: bool = True,
) -> ClientOptions:
    """The arguments of a paho client: callback API 2; MQTT 5 (clean start is then a
    ``connect()`` option) or 3.1.1 with a clean session; paho's own reconnecting unless
    *reconnect_on_failure* is off; acknowledgements sent by paho unless *manual_ack*."""
    return {
        "callback_api_version": CallbackAPIVersion.VERSION2,
        "client_id": client_id,
        "protocol": MQTTProtocolVersion.MQTTv5 if mqtt5 else MQTTProtocolVersion.MQTTv311,
        "clean_session": None if mqtt5 else True,
        "reconnect_on_failure": reconnect_on_failure,
        "manual_ack": manual_ack,
    }


def use_tls(client: Client, ctx: ssl.SSLContext | None) -> None:
    """Connect *client* over TLS with *ctx* (None: plain TCP). paho takes whether to check
    the broker's host name from ``ctx.check_hostname``."""
    if ctx is not None:
        client.tls_set_context(ctx)


def new_client(
    client_id: str,
    ctx: ssl.SSLContext | None,
    *,
    mqtt5: bool = True,
    reconnect_on_failure: bool = True,
) -> Client:
    """A paho client with :func:`client_options`, over TLS with *ctx* (None: plain TCP)."""
    client = Client(**client_options(client_id, mqtt5=mqtt5,
                                     reconnect_on_failure=reconnect_on_failure))  # fmt: skip
    use_tls(client, ctx)
    return client


def _properties(packet: int) -> Properties:
    """Empty properties for a packet of type *packet* (paho's constructor is untyped)."""
    return Properties(packet)  # type: ignore[no-untyped-call]  # the one call, typed here


def publish_properties(user: UserProperties, *, expiry_s: int | None = None) -> Properties:
    """PUBLISH properties: *user* properties and, unless None, a message expiry of
    *expiry_s* seconds."""
    props = _properties(PacketTypes.PUBLISH)
    props.UserProperty = list(user)
    if expiry_s is not None:
        props.MessageExpiryInterval = expiry_s
    return props


def connect_properties(
    *, session_expiry_s: int | None = None, receive_maximum: int | None = None
) -> Properties:
    """CONNECT properties: how long the broker keeps the session after a disconnection,
    and how many unacknowledged QoS 1 messages it may send us at once (each unless None)."""
    props = _properties(PacketTypes.CONNECT)
    if session_expiry_s is not None:
        props.SessionExpiryInterval = session_expiry_s
    if receive_maximum is not None:
        props.ReceiveMaximum = receive_maximum
    return props


def will_properties(*, delay_s: int) -> Properties:
    """Properties of a last will published *delay_s* seconds after the connection is lost."""
    props = _properties(PacketTypes.WILLMESSAGE)
    props.WillDelayInterval = delay_s
    return props


def normal_disconnection() -> ReasonCode:
    """The DISCONNECT reason 0 (the broker discards the will)."""
    return ReasonCode(PacketTypes.DISCONNECT, "Normal disconnection")


def user_properties(props: Properties | None) -> dict[str, str]:
    """The user properties of a received message, as text (the last of a repeated name).
    Raises TypeError or ValueError when paho's decoding left something that is no pair."""
    pairs: object = getattr(props, "UserProperty", None) or []
    if not isinstance(pairs, Iterable):
        raise TypeError(f"user properties are {type(pairs).__name__}, not pairs")
    return {str(k): str(v) for k, v in pairs}


def _int_property(props: Properties | None, name: str) -> int | None:
    value: object = getattr(props, name, None) if props is not None else None
    if isinstance(value, int) and value:
        return value
    return None


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What a broker's CONNACK announces about what it takes (None: no limit said)."""

    maximum_packet_size: int | None
    """Bytes of the largest packet it accepts."""
    receive_maximum: int | None
    """Unacknowledged QoS 1 PUBLISH packets it takes at once."""

    @classmethod
    def of(cls, props: Properties | None) -> ServerLimits:
        """The limits in a CONNACK's *props* (None over MQTT 3.1.1: none said)."""
        return cls(
            _int_property(props, "MaximumPacketSize"), _int_property(props, "ReceiveMaximum")
        )
