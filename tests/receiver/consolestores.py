"""One store per engine for a whole test module (a PostgreSQL database costs seconds to
create): tests that share it name their own incidents and sites (fresh ids), so they stay
independent of each other and of their order."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from pg import PgServer

from edge.receiver.store.store import ReceiverStore

_databases = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_store(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ReceiverStore]:
    """A store on each engine, shared by the tests of one module."""
    data = tmp_path_factory.mktemp("console-rx")
    server: PgServer | None = None
    name = ""
    if request.param == "sqlite":
        url = f"sqlite:///{data / 'receiver.db'}"
    else:
        server = request.getfixturevalue("pg_server")
        name = f"console_{next(_databases):03d}_{request.module.__name__.rsplit('.', 1)[-1]}"
        url = server.new_database(name[:60])
    store = ReceiverStore(url, data)
    yield store
    store.close()
    if server is not None and server.pid is not None:
        server.drop_database(name[:60])
