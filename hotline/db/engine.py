"""The async engine, with SQLite set up as DESIGN.md measured it.

SQLite: WAL, synchronous=FULL (an acknowledged ticket survives kill -9),
foreign keys on, a busy timeout. An explicit transaction (`async with
db.begin()`) is a write: it first takes the engine's in-process write lock,
then opens with BEGIN IMMEDIATE, so writers queue in FIFO order instead of in
SQLite's busy handler (which sleeps in growing steps: seconds of p99 under a
burst, measured by bench/screen_pop.py). Reads (autobegin) send no BEGIN:
each statement reads its own WAL snapshot and never waits for a writer. Never hold a transaction
across an AMI await.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    AsyncSessionTransaction,
    async_sessionmaker,
    create_async_engine,
)

from hotline.config import Settings
from hotline.db.writelock import WriteLock

_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, WriteLock] = weakref.WeakKeyDictionary()
_WRITE = "hotline_write"


def make_engine(settings: Settings, *, own_checkpoints: bool = False) -> AsyncEngine:
    """own_checkpoints: SQLite does not checkpoint the WAL inside commits; the
    caller runs db/checkpoint.py (the controller does)."""
    url = settings.database_url
    kwargs: dict[str, Any] = {
        "echo": settings.database.echo,
        "pool_size": settings.database.pool_size,
        "max_overflow": settings.database.max_overflow,
    }
    if not url.startswith("sqlite"):
        # A PostgreSQL server restarted or failed over leaves dead connections
        # in the pool: each is tested (one round trip) before it is handed out.
        kwargs["pool_pre_ping"] = True
    else:
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            _private_sqlite_file(Path(path))
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine, own_checkpoints)
    return engine


def _private_sqlite_file(path: Path) -> None:
    """The database holds citizens' numbers and complaints: its folder and
    file are the service user's alone. SQLite gives the -wal and -shm files
    the database file's mode, so they follow."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():
            os.chmod(extra, 0o600)


def _sqlite_setup(engine: AsyncEngine, own_checkpoints: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's 'begin' event issue BEGIN itself (aiosqlite would
        # otherwise send a deferred BEGIN of its own).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if own_checkpoints:  # db/checkpoint.py, off the commit path
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        # Reads send no BEGIN at all: each statement is its own snapshot,
        # and a screen pop saves a round trip to the database thread.
        if conn.get_execution_options().get(_WRITE):
            # On the driver's cursor: through SQLAlchemy's execute this one
            # statement cost as much as the write it opens.
            cursor = conn.connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
            finally:
                cursor.close()

    _WRITE_LOCKS[engine.sync_engine] = WriteLock()


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction on a Core connection, queued like a session's
    (the write lock, then BEGIN IMMEDIATE on SQLite); commits on leaving."""
    lock = _WRITE_LOCKS.get(engine.sync_engine)
    async with lock if lock is not None else nullcontext():
        async with engine.connect() as conn:
            await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn


class _WriteTransaction:
    def __init__(self, session: HotlineSession, lock: WriteLock, urgent: bool):
        self.session = session
        self.lock = lock
        self.urgent = urgent
        self.tx: AsyncSessionTransaction | None = None

    async def __aenter__(self) -> AsyncSessionTransaction:
        await self.lock.acquire(self.urgent)
        try:
            self.tx = AsyncSession.begin(self.session)
            await self.tx.__aenter__()
            await self.session.connection(execution_options={_WRITE: True})
        except BaseException:
            self.lock.release()
            raise
        return self.tx

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            assert self.tx is not None
            await self.tx.__aexit__(kind, exc, tb)
        finally:
            self.lock.release()


class HotlineSession(AsyncSession):
    def begin(self, urgent: bool = False) -> Any:  # type: ignore[override]
        """A write transaction; urgent: it goes before the writes still
        waiting for SQLite's writer (db/writelock.py)."""
        bind = self.bind
        lock = _WRITE_LOCKS.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None
        return super().begin() if lock is None else _WriteTransaction(self, lock, urgent)


def engine_of(sessions: async_sessionmaker) -> AsyncEngine:
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine


def insert_ignore(conn: AsyncConnection | AsyncSession | AsyncEngine, model: Any, key: str) -> Any:
    """INSERT that leaves an existing row with the same key alone (one
    statement, where a read then an insert took two)."""
    dialect = conn.get_bind().dialect.name if isinstance(conn, AsyncSession) else conn.dialect.name
    return _insert_ignore(model, key, dialect)


@functools.cache
def _insert_ignore(model: Any, key: str, dialect: str) -> Any:
    # Built once: SQLAlchemy's compiled cache is keyed by the statement, and
    # building it again cost more than running it (bench/native_twin.py).
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=[key])


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, class_=HotlineSession, expire_on_commit=False)
