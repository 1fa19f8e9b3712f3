"""The ACD's one path to the database: an ordered queue of writes.

Event handlers never wait on a commit (an fsync): they queue the write and
return, so the AMI dispatcher keeps up; what has piled up is written in one
transaction (one fsync for a burst), and one bad write never takes the others
with it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

Write = Callable[[AsyncSession], Awaitable[None]]


class WriteQueue:
    def __init__(self, sessions: async_sessionmaker):
        self.sessions = sessions
        self._writes: asyncio.Queue[Write] = asyncio.Queue()

    def put(self, write: Write) -> None:
        self._writes.put_nowait(write)

    async def run(self) -> None:
        while True:
            batch = [await self._writes.get()]
            while not self._writes.empty() and len(batch) < 200:
                batch.append(self._writes.get_nowait())
            try:
                await self._write_batch(batch)
            finally:
                for _ in batch:
                    self._writes.task_done()

    async def _write_batch(self, batch: list[Write]) -> None:
        try:
            async with self.sessions() as db, db.begin():
                for write in batch:
                    await write(db)
            return
        except Exception:
            if len(batch) == 1:
                log.exception("ACD database write failed")
                return
        for write in batch:
            try:
                async with self.sessions() as db, db.begin():
                    await write(db)
            except Exception:
                log.exception("ACD database write failed")

    async def drain(self) -> None:
        """Wait until every queued write is done (figures read after this)."""
        await self._writes.join()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.drain(), 5)  # what was acknowledged gets stored
        except TimeoutError:
            log.error("ACD closed with %d database writes not done", self._writes.qsize())
