"""SQLite's one writer, queued in the controller: first come, first served,
except that an urgent write (a work offer: an agent is waiting for it) goes
before the writes still waiting. It never interrupts the write in progress.

Measured (bench/work_queue.py): behind a plain FIFO an offer waited for
every ticket transaction queued before it, and its p99 was that queue."""

from __future__ import annotations

import asyncio
from collections import deque


class WriteLock:
    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._held

    async def acquire(self, urgent: bool = False) -> None:
        if not self._held and not self._urgent and not self._normal:
            self._held = True
            return
        handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(handed)
        try:
            await handed
        except asyncio.CancelledError:
            if handed.done() and not handed.cancelled():
                self.release()  # it was ours the moment the cancel came: pass it on
            raise

    def release(self) -> None:
        """Hand the lock to the next waiter (urgent first), or free it."""
        for waiting in (self._urgent, self._normal):
            while waiting:
                handed = waiting.popleft()
                if not handed.done():
                    handed.set_result(None)  # held stays True: ownership moves
                    return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *_: object) -> None:
        self.release()
