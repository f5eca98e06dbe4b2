"""The store's own soundness while the receiver runs: SQLite's ``PRAGMA quick_check`` once a
day (and at every start, in :class:`~edge.receiver.store.database.Database`), raising the
receiver's ``store_corrupt`` alert when it finds damage and clearing it once the file is
sound again (restored by an operator). PostgreSQL checks its own pages; nothing to do."""

from __future__ import annotations

import time
from collections.abc import Callable

from edge.core.logs import get_logger
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.store.store import ReceiverStore

log = get_logger(__name__)

EVERY_S = 86400.0
"""How often the file is checked while running (it was checked at start)."""


class IntegrityCheck:
    """``quick_check`` every *every_s*, called from the supervision loop (:meth:`run`)."""

    def __init__(
        self,
        store: ReceiverStore,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.every_s, self._clock = store, every_s, clock
        self.due = clock() + every_s
        self.problems: list[str] = []
        """What the last check found (empty: sound)."""

    def run(self) -> None:
        """Check the file if it is due; raise or clear ``store_corrupt``."""
        if self.store.db.path is None or self._clock() < self.due:
            return
        self.due = self._clock() + self.every_s
        started = time.monotonic()
        try:
            self.problems = self.store.db.quick_check()
        except self.store.db.errors as e:  # a file too broken to check is broken
            self.problems = [f"{type(e).__name__}: {e}"]
        took = round(time.monotonic() - started, 2)
        path = str(self.store.db.path)
        if self.problems:
            log.error("store.corrupt", path=path, problems=self.problems[:5], took_s=took)
            detail = f"{path}: PRAGMA quick_check: {'; '.join(self.problems[:3])}"[:1000]
            self.store.alerts([AlertOp(True, AlertKind.STORE_CORRUPT, "", "", "", detail)])
        else:
            log.info("store.checked", path=path, took_s=took)
            self.store.alerts([AlertOp(False, AlertKind.STORE_CORRUPT, "", "")])
