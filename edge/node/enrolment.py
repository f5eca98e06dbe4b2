"""A node that is not enrolled yet waits instead of failing. At first boot it made its TLS
key and certificate request (``edge pki csr``); until the site CA's certificate is installed
(``deploy/pki.yml``) it cannot reach the police broker. Meanwhile it says so: ``STATUS=`` for
``systemctl status``, a log line, the status lamp blinking ``degraded``; it keeps feeding the
watchdog, and starts as soon as the certificate (and the real config) are there."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edge.config.root import EdgeConfig
from edge.core.logs import get_logger
from edge.node.notify import Notifier
from edge.sensors.outputs import Status, StatusLed
from edge.sensors.pins import make_pin_factory

log = get_logger(__name__)

POLL_S = 5.0
"""How often a waiting node looks for its certificate."""


def _absent(path: Path) -> bool:
    """No file, or the empty placeholder the first-boot unit leaves for systemd's
    ``LoadCredential=``."""
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True


def missing_certificates(cfg: EdgeConfig) -> list[Path]:
    """Client certificates the config names that are not there (or empty placeholders)
    although their key is: the node made its key and request and waits for the signed
    certificate."""
    out = []
    for dest in cfg.destinations:
        tls = dest.tls
        waiting = tls and tls.cert and tls.key and Path(tls.key).exists()
        if waiting and tls and tls.cert and _absent(Path(tls.cert)):
            out.append(Path(tls.cert))
    return out


def awaiting_enrolment(cfg: EdgeConfig, problems: Sequence[str]) -> list[Path]:
    """The certificates the node waits for, when they (and the site CA's certificate that
    comes with them) are its only problems; else [] (a real configuration fault)."""
    missing = missing_certificates(cfg)
    if missing and all(".tls." in p for p in problems):
        return missing
    return []


def _factory(cfg: EdgeConfig) -> Any:
    try:
        return make_pin_factory(cfg)
    except Exception as e:  # no GPIO here: the lamps are skipped, the node still waits
        log.warning("enrolment.gpio_unavailable", error=str(e))
        return None


def _lamps(cfg: EdgeConfig, pin_factory: Any) -> list[StatusLed]:
    lamps = []
    for output in cfg.outputs:
        if output.kind == "status_led":
            try:
                lamps.append(StatusLed(output, pin_factory))
            except Exception as e:  # no GPIO here must not stop the wait
                log.warning("enrolment.lamp_unavailable", output=output.name, error=str(e))
    return lamps


def wait_for_enrolment(
    reload: Callable[[], tuple[EdgeConfig, list[str]]],
    stop: threading.Event,
    notifier: Notifier,
    *,
    pin_factory: Any = None,
    poll_s: float = POLL_S,
) -> tuple[EdgeConfig, list[str]] | None:
    """Wait while the node awaits its certificate. *reload* reads the config and its
    preflight problems again (``site.yml`` replaces both). Returns them once the node is
    no longer waiting (ready, or a real fault for the caller to report), or None on *stop*."""
    cfg, problems = reload()
    missing = awaiting_enrolment(cfg, problems)
    if not missing:
        return cfg, problems
    lamps = _lamps(cfg, pin_factory if pin_factory is not None else _factory(cfg))
    for lamp in lamps:
        lamp.show(Status.DEGRADED)
    status = (
        f"waiting for enrolment: no certificate at {missing[0]}; its request is beside the "
        "key: sign it with deploy/pki.yml (edge pki sign)"
    )
    log.warning("node.awaiting_enrolment", missing=[str(m) for m in missing])
    notifier.notify(READY=1, STATUS=status)
    try:
        while not stop.wait(min(poll_s, notifier.ping_interval or poll_s)):
            notifier.notify(WATCHDOG=1)
            cfg, problems = reload()
            if not awaiting_enrolment(cfg, problems):
                log.info("node.enrolled", problems=len(problems))
                notifier.notify(STATUS="enrolled: starting")
                return cfg, problems
        return None
    finally:
        for lamp in lamps:
            lamp.close()
