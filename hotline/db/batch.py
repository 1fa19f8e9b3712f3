"""An ordered queue of writes, committed in batches on one Core connection.

Event handlers never wait on a commit (an fsync): they queue the write and
return, so the AMI dispatcher keeps up. The writer waits a moment after the
first write (`linger`) so the writes of that moment share one transaction
(one fsync, one BEGIN, one COMMIT), and takes a connection without an ORM
session: these writes are single statements, and a session's bookkeeping
cost more than the statement (bench/native_twin.py, profiled). One bad write
never takes the others with it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hotline.db.engine import write_transaction

log = logging.getLogger(__name__)

Write = Callable[[AsyncConnection], Awaitable[None]]

_BATCH = 500


class WriteQueue:
    def __init__(self, engine: AsyncEngine, *, linger: float = 0.0, name: str = "database"):
        self.engine = engine
        self.linger = linger
        self.name = name
        self.batches = 0
        self._writes: asyncio.Queue[Write] = asyncio.Queue()

    def put(self, write: Write) -> None:
        self._writes.put_nowait(write)

    async def run(self) -> None:
        while True:
            batch = [await self._writes.get()]
            if self.linger > 0 and self._writes.qsize() < _BATCH:
                await asyncio.sleep(self.linger)
            while not self._writes.empty() and len(batch) < _BATCH:
                batch.append(self._writes.get_nowait())
            try:
                await self._write_batch(batch)
            finally:
                for _ in batch:
                    self._writes.task_done()

    async def _write_batch(self, batch: list[Write]) -> None:
        self.batches += 1
        try:
            async with write_transaction(self.engine) as conn:
                for write in batch:
                    await write(conn)
            return
        except Exception:
            if len(batch) == 1:
                log.exception("%s write failed", self.name)
                return
        for write in batch:
            try:
                async with write_transaction(self.engine) as conn:
                    await write(conn)
            except Exception:
                log.exception("%s write failed", self.name)

    async def drain(self) -> None:
        """Wait until every queued write is done (figures read after this)."""
        await self._writes.join()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.drain(), 5)  # what was acknowledged gets stored
        except TimeoutError:
            log.error("%s closed with %d writes not done", self.name, self._writes.qsize())
