"""Another client with this link's client id: two processes with one node id (a stale process
that never died, a copied config) take the broker connection from each other.

A broker allows one session per client id: when a second client connects with it, the first
is disconnected. Left alone, both reconnect within a second and knock each other off forever,
and the log says only "Unspecified error". The watch recognises it

- at once, from an MQTT 5 DISCONNECT with reason code 0x8E "Session taken over" (EMQX,
  HiveMQ and the specification's way); or
- from ``STRIKES`` connections in a row that the broker accepted and then lost soon: within
  ``window_s`` (``2 x cap + MARGIN_S``) of the CONNACK. mosquitto 2.0.11 sends no DISCONNECT
  (MQTT 5 and 3.1.1 alike): it just closes the old connection, which paho reports as
  "Unspecified error". Before either side backs off, the drops come within a second or two;
  once the peer backs off (below) they come up to ``2 x cap`` after the connect, hence the
  window, so both processes find out.

While it believes the id is taken it reports ``duplicate_node_id`` (log, link stats, node
status, heartbeat) and waits between ``cap`` and ``2 x cap`` seconds (jittered) after every
drop instead of the ordinary backoff (reset at every connect, so about a second), so two
processes take turns slowly rather than fight. It clears once a connection has stayed up
``stable_s`` (``3 x cap + MARGIN_S``: longer than a peer with the same config stays away).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from edge.core.logs import get_logger
from edge.link.linkstats import LinkStats
from edge.link.packet_limit import SUSPECT_MIN_BYTES
from edge.outbox.message import OutboxMessage
from edge.wire.mqtt5 import DisconnectFlags, ReasonCode

log = get_logger(__name__)

SESSION_TAKEN_OVER = 0x8E
"""MQTT 5 DISCONNECT reason code: another connection with this client id took the session."""

MARGIN_S = 5.0
"""Seconds added to the strike window and the stable time (connects, a loaded machine)."""

STRIKES = 4
"""Strikes in a row taken as a takeover. A connection lost while a large message was in
flight is no strike (nor does it reset them): a 3.1.1 broker drops a message over its packet
size limit that way, which :mod:`edge.link.packet_limit` infers and holds back."""


class TakeoverWatch:
    """Whether another client holds this link's client id, and how long to stay away."""

    def __init__(
        self,
        destination: str,
        client_id: str,
        stats: LinkStats,
        cap_s: float,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.destination = destination
        self.client_id = client_id
        self.stats = stats
        self.cap_s = cap_s
        self.window_s = 2 * cap_s + MARGIN_S
        """A connection lost this soon after its CONNACK counts as a strike."""
        self.stable_s = 3 * cap_s + MARGIN_S
        """A connection up this long clears the suspicion."""
        self.note: str | None = None
        """Why the id is believed taken (None while it is not)."""
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._since: float | None = None  # when the broker accepted the current connection
        self._strikes = 0
        self._code: int | None = None  # the last disconnect's reason code
        self._from_server = False  # ... and whether the broker sent it in a DISCONNECT
        self._large = False  # a message that may be over a packet limit awaits its PUBACK

    @property
    def suspected(self) -> bool:
        """True while another client is believed to use this link's client id."""
        return self.note is not None

    def connected(self, now: float) -> None:
        """The broker accepted a connection (CONNACK) at *now* (monotonic)."""
        self._since = now
        self._code, self._from_server, self._large = None, False, False

    def on_the_wire(self, messages: Iterable[OutboxMessage]) -> None:
        """The messages awaiting PUBACK on the current connection (the sender thread)."""
        self._large = any((m.length or len(m.payload)) >= SUSPECT_MIN_BYTES for m in messages)

    def heard(self, reason: ReasonCode, flags: DisconnectFlags) -> tuple[int | None, bool]:
        """Note paho's on_disconnect *reason* (a ReasonCode: the broker's DISCONNECT reason,
        or paho's "Unspecified error" for a closed socket) and *flags* (DisconnectFlags).
        Returns the code and whether the broker sent a DISCONNECT."""
        self._code = reason.value
        self._from_server = flags.is_disconnect_packet_from_server
        return self._code, self._from_server

    def still_connected(self, now: float) -> None:
        """Called while connected: a connection up ``stable_s`` clears the suspicion."""
        if self._since is None:
            return
        up = now - self._since
        if up >= self.window_s:
            self._strikes = 0
        if self.note is not None and up >= self.stable_s:
            log.info(
                "mqtt.duplicate_node_id_cleared",
                destination=self.destination,
                client_id=self.client_id,
                stable_s=round(up, 1),
            )
            self.note = None
            self.stats.duplicate_id = False
            self.stats.last_error = None

    def dropped(self, now: float) -> float | None:
        """An accepted connection ended at *now* (after :meth:`heard`, if paho called back).
        Returns how long to stay away when the id is believed taken, else None (the ordinary
        backoff)."""
        since, self._since = self._since, None
        if since is None:
            return None
        up = now - since
        if self._from_server and self._code == SESSION_TAKEN_OVER:
            self._raise("the broker said 0x8E Session taken over", up)
        elif self._from_server:  # the broker gave another reason (shutting down...)
            self._strikes = 0
        elif self._large:  # perhaps over the broker's packet limit: packet_limit's business
            pass
        elif up < self.window_s:
            self._strikes += 1
            if self._strikes >= STRIKES and self.note is None:
                self._raise(
                    f"the broker closed {self._strikes} connections in a row within "
                    f"{self.window_s:g} s of accepting them, without a reason",
                    up,
                )
        else:
            self._strikes = 0
        if self.note is None:
            return None
        self.stats.takeovers += 1
        self.stats.last_error = self.note
        return self.cap_s + self._rng.uniform(0, self.cap_s)

    def _raise(self, why: str, up: float) -> None:
        first = self.note is None
        self.note = (
            f"duplicate_node_id: another client uses client id {self.client_id!r} ({why}): "
            "a second process with this node id (a stale process, a copied config)? "
            f"Reconnecting only every {self.cap_s:g}-{2 * self.cap_s:g} s until a "
            f"connection stays up {self.stable_s:g} s"
        )
        self.stats.duplicate_id = True
        self.stats.last_error = self.note
        if first:
            log.error(
                "mqtt.duplicate_node_id",
                destination=self.destination,
                client_id=self.client_id,
                connected_s=round(up, 2),
                note=self.note,
            )
