"""What the store's writers need of a cursor (:class:`edge.receiver.store.database.Cursor`
is one), as a protocol: the schema's Python migration steps use it without importing the
database module that runs them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class SqlCursor(Protocol):
    """A cursor taking ``?`` placeholders on both engines."""

    engine: str
    """``sqlite`` or ``postgresql``."""

    def execute(self, text: str, params: Sequence[object] = ()) -> SqlCursor:
        """Run one statement."""
        ...

    def executemany(self, text: str, rows: Sequence[Sequence[object]]) -> SqlCursor:
        """Run one statement for each row."""
        ...

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Remaining rows."""
        ...

    def rows(
        self, types: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> tuple[str, list[object]]:
        """A row source for ``IN (...)`` (see ``Database.rows``)."""
        ...

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""
        ...
