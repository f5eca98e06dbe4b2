"""A destination that cannot start yet waits for its files; the rest of the node runs.

At first boot the node made its TLS key and certificate request (``edge pki csr``); until the
site CA signs it (``deploy/pki.yml``) there is no certificate, and a node whose second
destination's certificate is emptied or deleted is in the same state for that destination.
Neither stops the node: sensors, sirens, the lamp, the cameras and every other destination
run, events are queued for the waiting destination as for any other, and its files are
looked at again every second. It starts as soon as they are usable; meanwhile the heartbeat,
``STATUS=`` and the log name it and the file (``destination_waiting:police:/etc/.../node.crt``).

Waiting means: the client certificate or its key is missing, empty (the first-boot unit's
placeholder for ``LoadCredential=``) or unreadable. Its other TLS problems (the site CA that
comes with the certificate) are forgiven while it waits; files that are there but wrong at
start are a configuration error as before (exit 2).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from edge.config.preflight import tls_problems
from edge.config.root import EdgeConfig
from edge.config.transport import DestinationConfig
from edge.core.errors import EdgeError
from edge.core.logs import get_logger
from edge.link.mqtt import MqttLink
from edge.node.degraded import Degraded

log = get_logger(__name__)

HINT = "its request is beside the key: sign it with deploy/pki.yml (edge pki sign)"


def _unready(path: Path, what: str) -> str | None:
    """Why the file *path* cannot be used yet, naming it, or None."""
    try:
        if path.stat().st_size == 0:
            return f"empty {what} {path}"
        with path.open("rb"):
            pass
    except (FileNotFoundError, NotADirectoryError):
        return f"no {what} at {path}"
    except OSError as e:
        return f"cannot read {what} {path}: {e.strerror or e}"
    return None


def files_missing(dest: DestinationConfig) -> tuple[Path, str] | None:
    """The first client certificate or key file of *dest* that is missing, empty or
    unreadable, and why; None when both are there (or it uses none)."""
    tls = dest.tls
    if tls is None or tls.cert is None or tls.key is None:
        return None
    for path, what in ((Path(tls.cert), "certificate"), (Path(tls.key), "key")):
        why = _unready(path, what)
        if why is not None:
            return path, why
    return None


def waiting_destinations(cfg: EdgeConfig) -> dict[str, tuple[Path, str]]:
    """The destinations that wait for their files: name -> (file, why)."""
    out = {}
    for dest in cfg.destinations:
        missing = files_missing(dest)
        if missing is not None:
            out[dest.name] = missing
    return out


def forgiven(cfg: EdgeConfig, problems: Sequence[str], waiting: Sequence[str]) -> list[str]:
    """*problems* (preflight's) less the TLS problems of the destinations that wait."""
    prefixes = tuple(
        f"destinations[{i}].tls." for i, d in enumerate(cfg.destinations) if d.name in waiting
    )
    return [p for p in problems if not (prefixes and p.startswith(prefixes))]


def reason(name: str, path: Path) -> str:
    """The heartbeat reason of a waiting destination (it names the file)."""
    return f"destination_waiting:{name}:{path}"


class PendingLinks:
    """Destinations waiting for their files. :meth:`check` (a housekeeping chore, every
    second) makes the link of each (*make_link*) once its files are usable, starts it, adds it
    to *links* and tells *started* (the node's lifecycle: it stops with the other links)."""

    def __init__(
        self,
        cfg: EdgeConfig,
        waiting: dict[str, tuple[Path, str]],
        make_link: Callable[[DestinationConfig], MqttLink],
        links: list[MqttLink],
        *,
        started: Callable[[MqttLink], object],
        degraded: Degraded,
    ) -> None:
        self.make_link, self.links, self.started = make_link, links, started
        self.degraded = degraded
        self.pending = {d.name: d for d in cfg.destinations if d.name in waiting}
        self._index = {d.name: i for i, d in enumerate(cfg.destinations)}
        self._lock = threading.Lock()
        for name, (path, why) in waiting.items():
            self._report(name, path, why)

    def _report(self, name: str, path: Path, why: str) -> None:
        self.degraded.set(
            f"destination:{name}",
            reason(name, path),
            destination=name,
            path=str(path),
            problem=why,
            note=f"the rest of the node runs; events are queued for {name}; {HINT}",
        )

    def _problem(self, dest: DestinationConfig) -> tuple[Path, str] | None:
        missing = files_missing(dest)
        if missing is not None or dest.tls is None:
            return missing
        found = tls_problems(f"destinations[{self._index[dest.name]}].tls", dest.tls)
        if not found:
            return None
        return Path(dest.tls.cert or dest.tls.ca), " ".join(found[0].split())

    def check(self) -> None:
        """Start every waiting destination whose files are usable now. Never raises."""
        with self._lock:
            for name, dest in list(self.pending.items()):
                try:
                    problem = self._problem(dest)
                    if problem is not None:
                        self._report(name, *problem)
                        continue
                    link = self.make_link(dest)
                    link.start()
                    self.links.append(link)
                    self.started(link)
                except (EdgeError, OSError) as e:
                    self._report(name, Path((dest.tls and dest.tls.cert) or name), str(e))
                    continue
                except Exception:
                    log.exception("destination.start_failed", destination=name)
                    continue
                del self.pending[name]
                self.degraded.clear(f"destination:{name}", destination=name)
                log.info("destination.ready", destination=name)
