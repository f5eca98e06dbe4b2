"""Structured logging: ``log.info("clip.saved", camera=..., seconds=...)``.

Events go to journald when the node runs under systemd with journal output (and
systemd-python is installed), otherwise to stderr as console lines or JSON lines.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog
from structlog.typing import FilteringBoundLogger

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_SYSLOG_PRIORITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2}


Logger = FilteringBoundLogger
"""The typed logger every module uses: ``log.info("clip.saved", camera=..., seconds=...)``."""


def get_logger(name: str) -> Logger:
    """A bound structured logger for module *name* (typed: mypy checks every call)."""
    return cast(Logger, structlog.get_logger(name))


def _stderr_is_journal(stream: TextIO) -> bool:
    """True when systemd connected *stream* to journald (``$JOURNAL_STREAM`` matches)."""
    spec = os.environ.get("JOURNAL_STREAM", "")
    if ":" not in spec:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    dev, _, ino = spec.partition(":")
    return f"{st.st_dev}:{st.st_ino}" == f"{dev}:{ino}"


class JournalRenderer:
    """Send each event to journald with its fields as journal fields; print nothing."""

    def __init__(self) -> None:
        # optional dependency: the `systemd` extra (systemd-python)
        journal = importlib.import_module("systemd.journal")
        self._send = journal.send

    def __call__(self, _logger: object, _name: str, event: MutableMapping[str, object]) -> str:
        """Send *event* to journald and drop it from the chain."""
        fields = {
            k.upper(): str(v) for k, v in event.items() if k not in {"event", "level", "timestamp"}
        }
        self._send(
            MESSAGE=str(event.get("event", "")),
            PRIORITY=str(_SYSLOG_PRIORITY.get(str(event.get("level")), 6)),
            SYSLOG_IDENTIFIER="warehouse-edge",
            **fields,
        )
        raise structlog.DropEvent


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing (not at configuration)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()

    def fileno(self) -> int:
        return sys.stderr.fileno()


def configure(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> str:
    """Configure structlog for the process; returns the format chosen.

    Without *stream*, events go to the process's current ``sys.stderr``."""
    out: Any = stream or _CurrentStderr()
    if fmt == "auto":
        if _stderr_is_journal(out):
            fmt = "journal"
        elif out.isatty():
            fmt = "console"
        else:
            fmt = "json"
    renderer: JournalRenderer | structlog.processors.JSONRenderer | structlog.dev.ConsoleRenderer
    if fmt == "journal":
        try:
            renderer = JournalRenderer()
        except ImportError:
            fmt, renderer = "json", structlog.processors.JSONRenderer()
    elif fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    return fmt
