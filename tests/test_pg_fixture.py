"""The PostgreSQL fixtures the receiver tests store into."""

from __future__ import annotations

import psycopg
import pytest
from pg import PgServer


def test_server_round_trips_a_bytea_row(pg_server: PgServer, pg_url: str) -> None:
    """The private server accepts a connection on 127.0.0.1 and stores and returns binary
    data byte for byte (every byte value, a NUL included), with fsync on as in production."""
    assert pg_server.pid is not None
    assert pg_url.startswith(f"postgresql://edge@127.0.0.1:{pg_server.port}/")
    blob = bytes(range(256)) * 4
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE blobs (id SERIAL PRIMARY KEY, name TEXT, data BYTEA)")
        conn.execute("INSERT INTO blobs (name, data) VALUES (%s, %s)", ("clip", blob))
        conn.commit()
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT name, data FROM blobs").fetchone()
        settings = conn.execute(
            "SELECT current_setting('fsync'), current_setting('max_connections')"
        ).fetchone()
    assert row == ("clip", blob)
    assert settings == ("on", "200")


@pytest.mark.parametrize("_", range(2))
def test_each_pg_url_is_a_distinct_empty_database(pg_server: PgServer, pg_url: str, _: int) -> None:
    """Every test gets its own database: another fresh one is a different, empty database,
    and neither sees the tables a previous test created."""
    other = pg_server.new_database("fixture_other")
    try:
        assert other != pg_url
        tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        for url in (pg_url, other):
            with psycopg.connect(url) as conn:
                assert conn.execute(tables).fetchone() == (0,)
                conn.execute("CREATE TABLE marker (x INT)")
        with psycopg.connect(pg_url) as conn:
            name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None and name[0] != "fixture_other"
    finally:
        pg_server.drop_database("fixture_other")
