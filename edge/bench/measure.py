"""Measure a piece of work in a fresh process: CPU seconds, wall seconds, peak RSS."""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Callable
from typing import Any


def _child(
    fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], conn: Any, warmup: bool
) -> None:
    from edge.core import logs

    logs.configure("warning", "console")
    if warmup:
        fn(*args)  # a daemon runs for months: measure the steady state, not the first pass
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    result = fn(*args)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    result["wall_s"] = time.perf_counter() - t0
    result["cpu_s"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    result["peak_rss_mb"] = r1.ru_maxrss / 1024
    conn.send(result)
    conn.close()


def in_fresh_process(
    fn: Callable[..., dict[str, Any]], *args: Any, warmup: bool = True
) -> dict[str, Any]:
    """Run ``fn(*args)`` in a spawned interpreter and return its result with the figures
    ``wall_s``, ``cpu_s`` (user + system, all threads) and ``peak_rss_mb`` added.

    With *warmup* the work runs once unmeasured first: a fresh process's first pass is not
    what a long-running daemon pays (the allocator has not settled; caches are cold)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, args, child, warmup))
    proc.start()
    child.close()
    result: dict[str, Any] = parent.recv()
    proc.join()
    return result
