"""The controller's SQLite engine never checkpoints inside a commit; its own
task does, and leaves an empty WAL at shutdown."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from hotline.db.checkpoint import wal_checkpoints
from hotline.db.engine import make_engine, write_transaction
from tests.conftest import make_settings

ROWS = 100  # transactions of 10 rows of 8 KiB: about 2,400 pages, over twice SQLite's autocheckpoint


async def _write(engine: object) -> None:
    async with write_transaction(engine) as conn:  # type: ignore[arg-type]
        for _ in range(10):
            await conn.exec_driver_sql("INSERT INTO t (x) VALUES (?)", (os.urandom(8192),))


async def test_commits_leave_the_checkpoint_to_the_checkpointer(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = make_engine(settings, own_checkpoints=True)
    wal = Path(settings.database_url.split(":///", 1)[1] + "-wal")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, x BLOB)")
        async with wal_checkpoints(engine, every=3600) as checkpointer:
            assert checkpointer is not None
            for _ in range(ROWS):
                await _write(engine)
            # No commit checkpointed: the WAL holds every frame written, well
            # past the 1,000 pages at which SQLite would have done it itself.
            async with engine.connect() as conn:
                frames = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")).one()
            assert frames[0] == 0 and frames[1] > 2000 and frames[2] == frames[1], frames
            await _write(engine)
        # Shutdown truncated the WAL: nothing is left to replay.
        assert wal.stat().st_size == 0
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT count(*) FROM t")).scalar() == 10 * (ROWS + 1)
    finally:
        await engine.dispose()


async def test_other_engines_keep_sqlites_own_checkpoints(tmp_path: Path) -> None:
    engine = make_engine(make_settings(tmp_path))
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 1000
    finally:
        await engine.dispose()


async def test_a_write_transaction_holds_sqlites_write_lock_from_its_start(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE, sent on the driver's cursor: another process that
    wants to write meanwhile is told the database is locked, not later."""
    settings = make_settings(tmp_path)
    engine = make_engine(settings)
    path = settings.database_url.split(":///", 1)[1]
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, x BLOB)")
        async with write_transaction(engine):
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # free again once it committed
        other.close()
    finally:
        await engine.dispose()
