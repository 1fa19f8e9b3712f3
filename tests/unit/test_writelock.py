"""SQLite's writer queue: first come, first served, urgent writes (offers) first."""

from __future__ import annotations

import asyncio

import pytest

from hotline.db.writelock import WriteLock


async def _take(lock: WriteLock, name: str, order: list[str], urgent: bool = False) -> None:
    await lock.acquire(urgent)
    order.append(name)
    await asyncio.sleep(0)
    lock.release()


async def test_urgent_writes_go_before_those_still_waiting_never_before_the_one_running() -> None:
    lock, order = WriteLock(), []
    await lock.acquire()  # a ticket transaction in progress
    tasks = [asyncio.ensure_future(_take(lock, n, order)) for n in ("ticket-a", "ticket-b")]
    tasks.append(asyncio.ensure_future(_take(lock, "offer", order, urgent=True)))
    tasks.append(asyncio.ensure_future(_take(lock, "ticket-c", order)))
    await asyncio.sleep(0.01)
    assert order == [] and lock.locked()  # nobody jumps the write in progress
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["offer", "ticket-a", "ticket-b", "ticket-c"]
    assert not lock.locked()


async def test_a_cancelled_waiter_never_holds_the_lock() -> None:
    lock, order = WriteLock(), []
    await lock.acquire()
    gone = asyncio.ensure_future(_take(lock, "gone", order))
    after = asyncio.ensure_future(_take(lock, "after", order))
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    lock.release()
    await after
    assert order == ["after"] and not lock.locked()


async def test_a_waiter_cancelled_as_it_is_handed_the_lock_passes_it_on() -> None:
    lock, order = WriteLock(), []
    await lock.acquire()
    first = asyncio.ensure_future(_take(lock, "first", order))
    second = asyncio.ensure_future(_take(lock, "second", order))
    await asyncio.sleep(0)
    lock.release()  # handed to `first` ...
    first.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await second
    assert order == ["second"] and not lock.locked()
