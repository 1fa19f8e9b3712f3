"""The controller's SQLite engine never checkpoints inside a commit; its own
task does, and leaves an empty WAL at shutdown."""

from __future__ import annotations

import os
from pathlib import Path

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
