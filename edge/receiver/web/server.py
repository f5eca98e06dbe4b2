"""The dashboard's HTTP server: uvicorn on its own thread inside ``edge receive``, bound to
``[http] bind`` (localhost by default), HTTPS when a certificate is configured."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.receiver.config import ReceiverConfig
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.app import create_app
from edge.receiver.web.context import Dashboard

log = get_logger(__name__)


def split_bind(bind: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"not HOST:PORT: {bind!r}")
    return host.strip("[]"), int(port)


class WebServer:
    """The dashboard on a thread; :attr:`port` is the port bound (useful with port 0)."""

    def __init__(self, cfg: ReceiverConfig, store: ReceiverStore, bind: str | None = None):
        host, port = split_bind(bind or cfg.http.bind)
        self.store = store
        self.app = create_app(cfg, store)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = host, int(self._sock.getsockname()[1])
        h = cfg.http
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=h.tls_cert,
            ssl_keyfile=h.tls_key,
            timeout_graceful_shutdown=2,
            server_header=False,
        )
        self.scheme = "https" if h.tls else "http"
        self.server = uvicorn.Server(config)
        self.worker = Worker("receiver-web")
        """Owns the server's thread (one that dies is logged ``thread.died``, see :meth:`dead`)."""

    @property
    def url(self) -> str:
        """Where it answers."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def dead(self) -> list[str]:
        """The server's thread, when it ended though nobody stopped it."""
        health = self.worker.health()
        ended = not health.alive and not self.server.should_exit
        return [f"receiver-web: {health.detail}"] if ended else []

    def _serve(self) -> None:
        asyncio.run(self.server.serve(sockets=[self._sock]))

    def start(self, timeout: float = 10.0) -> None:
        """Serve; returns once it accepts connections."""
        thread = self.worker.spawn(self._serve, "receiver-web")
        for _ in range(int(timeout / 0.05)):
            if self.server.started or not thread.is_alive():
                break
            threading.Event().wait(0.05)
        if not self.server.started:
            raise RuntimeError(f"the dashboard did not start on {self.url}")
        log.info("web.started", url=self.url)

    def stop(self) -> None:
        """Stop serving (open live streams end)."""
        d = self.app.state.dashboard
        assert isinstance(d, Dashboard)
        d.stopping.set()
        self.server.should_exit = True
        self.worker.shutdown(10)
        self._sock.close()
        log.info("web.stopped", url=self.url)
