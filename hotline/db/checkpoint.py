"""SQLite's WAL checkpoints, off the commit path.

By default SQLite checkpoints inside the COMMIT that takes the WAL past
1,000 pages: that one commit copies the pages into the database file and
waits for its fsync, while every other writer queues behind the write lock
(an offer, a ticket, the ACD's figures). The controller's engine turns that
off (`PRAGMA wal_autocheckpoint=0`, engine.py) and this task checkpoints on
a connection of its own every few seconds instead: a PASSIVE checkpoint
copies what no reader still needs and never blocks a writer.

Durability is unchanged: a commit is durable once its WAL frames are synced
(synchronous=FULL); when the checkpoint runs only decides how long the WAL
file grows (what the interval's writes take, bounded) and how much a crash
recovery replays. A TRUNCATE checkpoint at shutdown leaves an empty WAL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.tasks import TaskSet

log = logging.getLogger(__name__)

EVERY_SECONDS = 5.0


class Checkpointer:
    def __init__(self, engine: AsyncEngine, every: float):
        self.engine = engine
        self.every = every
        self.runs = 0
        self.busy = 0  # checkpoints that could not copy everything (a reader held an old snapshot)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.checkpoint("PASSIVE")
            except Exception:
                log.exception("WAL checkpoint failed; the next one retries")

    async def checkpoint(self, mode: str) -> None:
        async with self.engine.connect() as conn:
            busy, frames, copied = (
                int(x) for x in (await conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")).one()
            )
        self.runs += 1
        if busy or copied < frames:
            self.busy += 1

    async def close(self) -> None:
        try:
            await self.checkpoint("TRUNCATE")
        except Exception:
            log.warning("the WAL was not truncated at shutdown (it is replayed at the next start)")


@asynccontextmanager
async def wal_checkpoints(engine: AsyncEngine, every: float = EVERY_SECONDS) -> AsyncIterator[Checkpointer | None]:
    """Checkpoints while the block runs, for an engine made with
    own_checkpoints=True (nothing to do for PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        yield None
        return
    checkpointer = Checkpointer(engine, every)
    tasks = TaskSet("wal-checkpoint")
    tasks.spawn(checkpointer.run(), "wal-checkpoint")
    try:
        yield checkpointer
    finally:
        await tasks.close()
        await checkpointer.close()
