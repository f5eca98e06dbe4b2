"""``ClipFinalizer.drain`` waits for the queue without a helper thread: a drain that times out
leaves nothing behind (it used to leave a bare thread blocked on the queue for good)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import cast

from edge.clips.finalize import ClipFinalizer
from edge.clips.recorder import ClipJob
from edge.clips.store import ClipStore
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey


def test_a_drain_that_times_out_leaves_no_thread_and_one_that_ends_says_so(
    tmp_path: Path,
) -> None:
    """A job nobody writes (the finalizer not started): drain says False after its timeout,
    and no thread was started; once the job is done, drain says True at once."""
    fin = ClipFinalizer(
        ClipStore(tmp_path / "clips", 200 * 1024**2, 86400),
        NodeKey.create(tmp_path / "key.pem"),
        AuditLog(tmp_path / "audit.log"),
        node="n",
        site="s",
    )
    before = threading.active_count()
    fin.submit(cast(ClipJob, object()))
    assert fin.drain(0.2) is False
    assert threading.active_count() == before
    fin._queue.get_nowait()  # as the writer thread does with a job it finished
    fin._queue.task_done()
    assert fin.drain(0.2) is True
