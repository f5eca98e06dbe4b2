"""A private PostgreSQL for the test suite, from Debian's packages, on a temporary directory.

Listens only on 127.0.0.1 (a free port) and on a unix socket inside its own directory;
trust authentication for the superuser ``edge``; fsync stays on so commits cost what they
cost in production. PostgreSQL refuses to run as root: as root the cluster belongs to the
``postgres`` system user (``nobody`` without it) and initdb/postgres run under that user.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import LiteralString

from edge.demo.broker import free_port

INSTALL_HINT = "install it (Debian/Ubuntu: sudo apt-get install postgresql)"


class PgError(RuntimeError):
    """PostgreSQL is missing, or would not initialise, start or stop."""


def find_pg_bindir() -> Path:
    """Directory with initdb and postgres: PATH first, then the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    dirs = [Path(found).resolve().parent] if found else []
    version = lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)]  # noqa: E731
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for d in dirs:
        if all(os.access(d / name, os.X_OK) for name in ("initdb", "postgres")):
            return d
    raise PgError(f"PostgreSQL server binaries (initdb, postgres) not found: {INSTALL_HINT}")


class PgServer:
    """One postgres process on 127.0.0.1 with a database ``dbname`` created at first start.

    ``start()`` runs initdb the first time; ``stop()`` then ``start()`` restarts the same
    cluster on the same port (a police database going down and coming back).
    """

    USER = "edge"

    def __init__(self, dbname: str = "edge", max_connections: int = 200) -> None:
        self.bindir = find_pg_bindir()
        self.dbname = dbname
        self.max_connections = max_connections
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._runas: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # postgres refuses root: run it as the postgres system user
            names = {p.pw_name: p for p in pwd.getpwall()}
            self._runas = names.get("postgres") or names["nobody"]
        # as root: under /tmp, not $TMPDIR, so that the postgres user can traverse the parents
        self.base = Path(tempfile.mkdtemp(prefix="edge-pg-", dir="/tmp" if self._runas else None))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        self.sockdir = self.base / "run"
        self.log_path = self.base / "postgres.log"
        self._log_mark = 0

    @property
    def url(self) -> str:
        """``postgresql://edge@127.0.0.1:PORT/DBNAME`` of the test database."""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        """URL of database *dbname* on this server."""
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{dbname}"

    @property
    def pid(self) -> int | None:
        """PID of the postmaster while it runs."""
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def _initdb(self) -> None:
        for path, mode in ((self.data, 0o700), (self.sockdir, 0o755)):
            path.mkdir(mode=mode)
            if self._runas is not None:
                os.chown(path, self._runas.pw_uid, self._runas.pw_gid)
        argv = [str(self.bindir / "initdb"), "-D", str(self.data), "--auth=trust"]
        argv += [f"--username={self.USER}", "-E", "UTF8", "--no-locale", "--no-sync"]
        if (rc := self._spawn(argv).wait()) != 0:
            raise PgError(f"initdb failed ({rc}): {self._log_tail()}")

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        """Run *argv* in its own session (as the postgres user under root), output to the log."""
        self._log_mark = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.base,
                user=self._runas.pw_uid if self._runas else None,
                group=self._runas.pw_gid if self._runas else None,
                extra_groups=[] if self._runas else None,  # drop root's groups
            )

    def start(self, timeout: float = 30.0) -> None:
        """Start postgres (initdb first if needed) and wait until it accepts connections;
        nothing to do while it runs (a second postmaster on the same data would exit)."""
        if self.proc is not None and self.proc.poll() is None:
            return
        first = not (self.data / "PG_VERSION").exists()
        if first:
            self._initdb()
        for _ in range(3):  # another process may take the free port before postgres binds it
            self.port = self.port or free_port()
            if self._launch(timeout):
                break
            self.port = 0
        else:
            raise PgError(f"postgres could not bind a port: {self._log_tail()}")
        if first:
            self.new_database(self.dbname)

    def _launch(self, timeout: float) -> bool:
        pg = str(self.bindir / "postgres")
        argv = [pg, "-D", str(self.data), "-c", "listen_addresses=127.0.0.1"]
        argv += ["-c", f"port={self.port}", "-c", f"unix_socket_directories={self.sockdir}"]
        argv += ["-c", f"max_connections={self.max_connections}"]
        self.proc = self._spawn(argv)
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "could not bind" in self._log_tail():
                    return False
                raise PgError(f"postgres exited with {self.proc.returncode}: {self._log_tail()}")
            try:
                psycopg.connect(self.url_for("postgres"), connect_timeout=2).close()
            except psycopg.OperationalError:
                time.sleep(0.05)
                continue
            return True
        self.stop()
        raise PgError(f"postgres did not accept connections within {timeout} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        """What the last spawned command wrote to the log (its last 2000 characters)."""
        return self.log_path.read_bytes()[self._log_mark :][-2000:].decode(errors="replace").strip()

    def _admin(self, template: LiteralString, dbname: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL(template).format(sql.Identifier(dbname)))

    def new_database(self, name: str) -> str:
        """Create an empty database *name*; returns its URL."""
        self._admin("CREATE DATABASE {}", name)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database *name*, disconnecting whoever is still connected to it."""
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop postgres by its PID: SIGINT (fast shutdown: clients are disconnected, a clean
        checkpoint is written; SIGTERM would wait for every client to leave), then SIGKILL."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL postgres and its backends (a crash; the next start() replays the WAL)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: start_new_session
            self.proc.wait(5)

    def close(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PgServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop and clean up."""
        self.close()
