"""Engine and session setup.

SQLite is tuned for an appliance on a cheap SD card: WAL (readers never block the scanner's
writes), `synchronous=FULL` (a committed alarm survives a power cut the moment the commit
returns), foreign keys on, and a busy timeout so that the web, scanner and worker processes
wait for each other instead of failing. A process that commits from several threads at once
(the worker) may ask for group commit instead of `synchronous=FULL`: the same promise, one
fsync for all the commits that are waiting (`store/group_commit.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from appliance.errors import DatabaseMissing
from appliance.store.group_commit import GroupCommit

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _tune_sqlite(dbapi_connection, _record, *, synchronous: str = "FULL") -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_immediate(conn) -> None:
    # pysqlite's default deferred BEGIN upgrades to a write lock mid-transaction, which fails
    # with "database is locked" instead of waiting; BEGIN IMMEDIATE waits for busy_timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, for_writes: bool = True, group_commit: bool = False) -> Engine:
    """An engine for `url`, with the SQLite tuning above when it is a SQLite file.

    On SQLite a write engine opens every transaction with BEGIN IMMEDIATE; a read engine keeps
    deferred transactions so that the admin page never queues behind the scanner for a lock.
    With `group_commit` its commits do not fsync: the Store's `GroupCommit` does, after them.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None})
    event.listen(engine, "connect", partial(_tune_sqlite, synchronous="NORMAL" if group_commit else "FULL"))
    event.listen(engine, "begin", _begin_immediate if for_writes else _begin_deferred)
    return engine


def _begin_deferred(conn) -> None:
    conn.exec_driver_sql("BEGIN")


class Store:
    """The database a process works with: one engine, one session factory.

    `group_commit` (SQLite files only; PostgreSQL groups commits itself) is for a process that
    writes from several threads at once: see `store/group_commit.py`.
    """

    def __init__(self, url: str, *, group_commit: bool = False):
        self.url = url
        parsed = make_url(url)
        file = parsed.database if parsed.get_backend_name() == "sqlite" and parsed.database != ":memory:" else None
        self.group_commit = GroupCommit(Path(file)) if group_commit and file else None
        self.engine = make_engine(url, group_commit=self.group_commit is not None)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The process's threads take turns for SQLite's write lock here, woken the moment it is
        # free, instead of in SQLite's busy handler, which sleeps up to 100 ms between looks.
        self._writer = threading.RLock() if self.group_commit is not None else nullcontext()
        if self.engine.dialect.name == "sqlite":
            self._read_engine = make_engine(url, for_writes=False)
            self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)
        else:
            self._read_engine, self._read_sessions = self.engine, self._sessions

    @contextmanager
    def session(self, *, durable: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends (on disk when this returns), rolled back on an exception.

        `durable=False` may return before the commit is on disk, for a transaction whose loss in
        a power cut is harmless (it is redone), as long as a durable commit or `sync` follows
        before anything outside the database depends on it; the next durable commit covers it.
        """
        with self._writer, self._sessions() as session, session.begin():
            yield session
        self._committed(durable=durable)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Connection]:
        """Like `session`, on a plain connection, for Core statements only.

        The delivery's transactions (two per alarm, `store.alarm_state`) run here: an ORM
        session's own begin and commit cost about as much CPU as their statements.
        """
        with self._writer, self.engine.begin() as connection:
            yield connection
        self._committed(durable=durable)

    def _committed(self, *, durable: bool) -> None:
        """After a commit: on disk before returning when `durable` (group commit; else SQLite did it)."""
        if self.group_commit is not None:
            number = self.group_commit.committed()
            if durable:
                self.group_commit.wait(number)

    def sync(self) -> None:
        """Make every commit so far durable (after `session(durable=False)` with no durable commit behind it)."""
        if self.group_commit is not None:
            self.group_commit.sync()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot for pages and reports; never takes SQLite's write lock."""
        with self._read_sessions() as session:
            yield session  # closing the session rolls the snapshot back

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """Like `read`, for a few Core statements: a plain connection, without an ORM session's cost.

        A page's small reads (a session check, the alarms' change marker) take about half the time.
        """
        with self._read_engine.connect() as connection:
            yield connection  # closing the connection rolls the snapshot back

    def require_schema(self) -> None:
        """Raise `DatabaseMissing` unless `keryu init` has created the tables."""
        if not inspect(self.engine).has_table("alarms"):
            raise DatabaseMissing("The database at {url} is not set up; run `keryu init` first.", url=self.display_url)

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()
        self._read_engine.dispose()
