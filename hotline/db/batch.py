"""An ordered queue of writes, committed in batches on one Core connection.

Event handlers never wait on a commit (an fsync): they queue the write and
return, so the AMI dispatcher keeps up. The writer waits a moment after the
first write (`linger`) so the writes of that moment share one transaction
(one fsync, one BEGIN, one COMMIT), and takes a connection without an ORM
session: these writes are single statements, and a session's bookkeeping
cost more than the statement (bench/native_twin.py, profiled). One bad write
never takes the others with it.

The controller has one such queue for what calls leave behind (the IVR's call
row, the ACD's queue rows and audit): a call's rows share a transaction.
A reader that needs a row written moments ago waits for that write alone
(`settled(key)`), or for everything queued before it asked (`drain()`):
neither waits for writes queued after, and a reader waiting sends the batch
at once, so the linger costs readers nothing and can be long.

A write is a function of the connection, or a `Row`: one statement's
parameters. A batch's rows of one statement go to the database as one
executemany (one hop to SQLite's thread, where each statement took one):
rows marked `first` (inserts that ignore a row already there, which no
other write waits behind) go before the batch's other writes, grouped by
statement; other rows merge only with the same statement just before them,
so writes to one row keep their order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hotline.db.engine import write_transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Row:
    """One statement's parameters, queued as data so a batch can merge them."""

    statement: Any  # built once (its identity is how rows of one statement are found)
    params: dict[str, Any]
    first: bool = False  # an insert that ignores an existing row: order-free, goes first


Write = Callable[[AsyncConnection], Awaitable[None]] | Row


@dataclass(slots=True)
class _Many:
    statement: Any
    params: list[dict[str, Any]] = field(default_factory=list)


def plan(batch: list[Write]) -> list[Callable[[AsyncConnection], Awaitable[None]] | _Many]:
    """The batch as it is executed: rows merged into executemany calls."""
    first: dict[int, _Many] = {}
    rest: list[Callable[[AsyncConnection], Awaitable[None]] | _Many] = []
    for w in batch:
        if not isinstance(w, Row):
            rest.append(w)
        elif w.first:
            first.setdefault(id(w.statement), _Many(w.statement)).params.append(w.params)
        elif rest and isinstance(last := rest[-1], _Many) and last.statement is w.statement:
            last.params.append(w.params)
        else:
            rest.append(_Many(w.statement, [w.params]))
    return [*first.values(), *rest]


async def _execute(conn: AsyncConnection, step: Callable[[AsyncConnection], Awaitable[None]] | _Many) -> None:
    if isinstance(step, _Many):
        await conn.execute(step.statement, step.params)
    else:
        await step(conn)


_BATCH = 500


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class WriteQueue:
    def __init__(self, engine: AsyncEngine, *, linger: float = 0.0, name: str = "database"):
        self.engine = engine
        self.linger = linger
        self.name = name
        self.batches = 0
        self.failures = 0
        self._writes: asyncio.Queue[tuple[Write, str]] = asyncio.Queue()
        self._queued = 0  # writes put so far
        self._done = 0  # of those, committed or given up
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._keyed: dict[str, tuple[int, asyncio.Future[None]]] = {}  # key -> (writes queued, done)
        self._lingering: asyncio.Future[None] | None = None  # resolved: the writer stops lingering
        self._hurried = False  # a reader waits: the next batch goes without lingering

    def put(self, write: Write, *, key: str = "") -> None:
        """Queue a write; with a key, `settled(key)` waits for it."""
        if key:
            count, done = self._keyed.get(key) or (0, asyncio.get_running_loop().create_future())
            self._keyed[key] = (count + 1, done)
        self._queued += 1
        self._writes.put_nowait((write, key))

    async def settled(self, key: str) -> None:
        """Wait until the writes queued under this key are done (at once when none is)."""
        if key in self._keyed:
            self._hurry()
            await asyncio.shield(self._keyed[key][1])

    async def drain(self) -> None:
        """Wait until every write queued before this call is done (figures read after this)."""
        if self._done >= self._queued:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((self._queued, waiter))
        self._hurry()
        await asyncio.shield(waiter)

    def _hurry(self) -> None:
        # Somebody waits for a write: the batch goes now, not after the linger.
        self._hurried = True
        if self._lingering is not None:
            _resolve(self._lingering)

    async def run(self) -> None:
        while True:
            batch = [await self._writes.get()]
            if self.linger > 0 and not self._hurried and self._writes.qsize() < _BATCH:
                await self._linger()
            self._hurried = False
            while not self._writes.empty() and len(batch) < _BATCH:
                batch.append(self._writes.get_nowait())
            try:
                await self._write_batch([w for w, _ in batch])
            finally:
                self._settle(batch)

    async def _linger(self) -> None:
        loop = asyncio.get_running_loop()
        self._lingering = lingering = loop.create_future()
        timer = loop.call_later(self.linger, _resolve, lingering)
        try:
            await lingering
        finally:
            timer.cancel()
            self._lingering = None

    def _settle(self, batch: list[tuple[Write, str]]) -> None:
        self._done += len(batch)
        for _, key in batch:
            if key in self._keyed:
                count, done = self._keyed[key]
                if count > 1:
                    self._keyed[key] = (count - 1, done)  # another write under the key is still queued
                else:
                    del self._keyed[key]
                    done.set_result(None)
        still = []
        for target, waiter in self._waiters:
            if target <= self._done:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still.append((target, waiter))
        self._waiters = still

    async def _write_batch(self, batch: list[Write]) -> None:
        self.batches += 1
        try:
            async with write_transaction(self.engine) as conn:
                for step in plan(batch):
                    await _execute(conn, step)
            return
        except Exception:
            if len(batch) == 1:
                self.failures += 1
                log.exception("%s write failed", self.name)
                return
        for write in batch:
            try:
                async with write_transaction(self.engine) as conn:
                    for step in plan([write]):
                        await _execute(conn, step)
            except Exception:
                self.failures += 1
                log.exception("%s write failed", self.name)

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.drain(), 5)  # what was acknowledged gets stored
        except TimeoutError:
            log.error("%s closed with %d writes not done", self.name, self._queued - self._done)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WriteQueue]:
        """The writer for as long as the block runs; what was queued is stored on the way out."""
        task = asyncio.create_task(self.run(), name=f"{self.name}-writer")
        try:
            yield self
        finally:
            await self.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
