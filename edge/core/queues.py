"""A bounded hand-over between a producer and a consumer thread."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Closed(Exception):
    """The queue was closed and is empty."""


class FrameQueue(Generic[T]):
    """Bounded FIFO. When full, ``put`` either drops the oldest item (live sources: a slow
    analyser must never make memory grow or capture fall behind) or waits (replay: every
    frame gets analysed). Drops are counted.

    Full means *maxsize* items or, given *max_bytes* and *size_of* (an item's bytes), more
    than *max_bytes* held once the new item is in: big frames hold fewer. One item is always
    let in, however big (an empty queue takes it), so nothing is refused for its size."""

    def __init__(
        self,
        maxsize: int,
        drop_oldest: bool,
        *,
        max_bytes: int | None = None,
        size_of: Callable[[T], int] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        if (max_bytes is None) != (size_of is None):
            raise ValueError("max_bytes and size_of go together")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.drop_oldest = drop_oldest
        self.dropped = 0
        self.peak_bytes = 0
        """The most bytes held at once (0 without *size_of*)."""
        self._size_of = size_of
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self._closed = False

    @property
    def bytes(self) -> int:
        """Bytes held now (0 without *size_of*)."""
        with self._cond:
            return self._bytes

    def _full(self, size: int) -> bool:
        if not self._items:
            return False
        if len(self._items) >= self.maxsize:
            return True
        return self.max_bytes is not None and self._bytes + size > self.max_bytes

    def put(self, item: T) -> None:
        """Add *item*, dropping the oldest or waiting when full. Ignored once closed."""
        size = 0 if self._size_of is None else self._size_of(item)
        with self._cond:
            while self._full(size) and not self._closed:
                if self.drop_oldest:
                    self._bytes -= self._items.popleft()[1]
                    self.dropped += 1
                    continue
                self._cond.wait()
            if self._closed:
                return
            self._items.append((item, size))
            self._bytes += size
            self.peak_bytes = max(self.peak_bytes, self._bytes)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item; None on timeout. Raises :class:`Closed` when closed and drained."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            if self._items:
                item, size = self._items.popleft()
                self._bytes -= size
                self._cond.notify_all()
                return item
            if self._closed:
                raise Closed
            return None

    def close(self) -> None:
        """No more items; waiting getters see :class:`Closed` once the queue is drained."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
