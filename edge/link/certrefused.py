"""A node whose client certificate the broker refuses (revoked, issued by a CA the broker
does not trust, expired) says so, and keeps saying it: ``mqtt.certificate_refused`` with
``problem="certificate revoked or not trusted"``, the destination, the broker and the cause,
logged at the first refusal and then once every :data:`REPEAT_S` with the refusals since;
``certificate_refused:DEST`` stands in the node's reasons (degraded, alerted at the police)
until the broker accepts it again (``mqtt.certificate_accepted``).

The cause comes from the broker's TLS alert where it sends one (TLS 1.2 at ``connect()``;
TLS 1.3 after it, read by paho, whose log line is watched here: ``certificate revoked``,
``unknown ca``, ``certificate expired``). Where the broker only closes the connection (TLS
1.3 and an unknown CA) the node's own files tell what they can: its certificate past
``notAfter`` on its clock, or listed in the CRL it keeps (``tls.crl``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from edge.config.transport import DestinationConfig
from edge.core.logs import get_logger
from edge.core.ratelog import Repeats
from edge.link.linkstats import LinkStats
from edge.wire.certdays import CertFileError, cert_days, crl_path, revoked
from edge.wire.mqtt5 import Client

log = get_logger(__name__)

PROBLEM = "certificate revoked or not trusted"
REPEAT_S = 300.0
"""After the first, one ``mqtt.certificate_refused`` line per this many seconds."""

CAUSES = {
    "revoked": "revoked: listed in the broker's CRL",
    "unknown_ca": "issued by a CA the broker does not trust",
    "expired": "expired",
    "rejected": "unknown CA, expired or revoked: the broker closed the connection while "
    "checking it (TLS 1.3 tells no more)",
}
"""Each cause and how ``last_error`` words it."""

_ALERTS = (
    ("certificate revoked", "revoked"),
    ("unknown ca", "unknown_ca"),
    ("decrypt error", "unknown_ca"),  # signed by another CA of the same name
    ("certificate expired", "expired"),
    ("bad certificate", "rejected"),
    ("certificate unknown", "rejected"),
    ("eof occurred in violation", "rejected"),
)
"""TLS alert texts (OpenSSL's, lower case) and the cause each means. An EOF in the middle of
TLS before CONNACK (or a close without a word) is how a TLS 1.3 broker refusing the
certificate may look to the client."""


def cause_of(text: str) -> str | None:
    """The cause an SSL error text names (see :data:`_ALERTS`), or None."""
    low = text.lower()
    return next((cause for needle, cause in _ALERTS if needle in low), None)


class _Noted(logging.Handler):
    """Hands each record's text to a function."""

    def __init__(self, note: Callable[[str], None]) -> None:
        super().__init__(logging.ERROR)
        self._note_text = note

    def emit(self, record: logging.LogRecord) -> None:
        """Pass the record's message on."""
        self._note_text(record.getMessage())


class CertRefusals:
    """One destination's refused client certificate: judged, logged and reported."""

    def __init__(
        self,
        dest: DestinationConfig,
        stats: LinkStats,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        every_s: float | None = None,
    ) -> None:
        self.dest, self.stats, self._wall = dest, stats, wall
        self._repeats = Repeats(REPEAT_S if every_s is None else every_s, clock)
        self._socket_error = ""
        self._paho_log = logging.Logger(f"paho.{dest.name}", logging.ERROR)  # not registered
        self._paho_log.addHandler(_Noted(self._note))

    def hook(self, client: Client) -> None:
        """Watch *client*'s error log for the socket error that ends a TLS 1.3 refusal
        (paho turns it into a lost connection and keeps only its log line). A logger of
        this link's own at ERROR level: paho formats nothing below it."""
        client.enable_logger(self._paho_log)

    def _note(self, text: str) -> None:
        if text.startswith(("failed to receive on socket", "failed to send on socket")):
            self._socket_error = text

    def judge(self, exc: BaseException | None) -> str | None:
        """After a connection the broker did not accept (*exc*: what ended it, if
        anything raised): the ``last_error`` text when the client certificate was refused
        (logged, reported), else None."""
        text, self._socket_error = (str(exc) if exc is not None else self._socket_error), ""
        tls = self.dest.tls
        # closed without a word before CONNACK: how a TLS 1.3 refusal may look, too
        cause = (cause_of(text) or ("rejected" if exc is None and not text else None)
                 if tls is not None and tls.cert else None)  # fmt: skip
        if cause is None or tls is None or tls.cert is None:
            return None
        if cause == "rejected":
            cause = self._own_files_say(tls.cert, crl_path(tls)) or cause
        self.refused(cause)
        return f"{PROBLEM}: the broker rejected this node's client certificate ({CAUSES[cause]})"

    def _own_files_say(self, cert: str, crl: object) -> str | None:
        try:
            if cert_days(cert, self._wall()) < 0:
                return "expired"
        except CertFileError:
            return None
        if crl is not None and revoked(cert, str(crl)):
            return "revoked"
        return None

    def refused(self, cause: str) -> None:
        """The broker refused the certificate for *cause*: reported; logged at once, then
        once every ``every_s`` with the refusals since the line before."""
        self.stats.certificate_refused = cause
        covered = self._repeats.occurred()
        if covered is None:
            return
        log.error("mqtt.certificate_refused", problem=PROBLEM, destination=self.dest.name,
                  broker=f"{self.dest.host}:{self.dest.port}", cause=cause,
                  refusals=self._repeats.total, since_last_line=covered,
                  refused_s=self._repeats.down_s())  # fmt: skip

    def connected(self) -> None:
        """The broker accepted a connection: the refusal (if any) is over."""
        refusals = self._repeats.cleared()
        self.stats.certificate_refused = None
        if refusals:
            log.warning("mqtt.certificate_accepted", destination=self.dest.name,
                        broker=f"{self.dest.host}:{self.dest.port}", refusals=refusals)  # fmt: skip
