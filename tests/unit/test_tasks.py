"""Background tasks stop when the controller stops (a stop once hung on
one whose loop let its cancellation go by)."""

from __future__ import annotations

import asyncio

from hotline.tasks import TaskSet, wait_event


async def _waker(event: asyncio.Event, rounds: list[int]) -> None:
    # The shape of the work queue's and the outbox's loops.
    while True:
        await wait_event(event, 5.0)
        event.clear()
        rounds.append(1)
        await asyncio.sleep(0.01)


async def test_a_cancel_that_comes_as_the_event_is_set_stops_the_loop() -> None:
    event, rounds = asyncio.Event(), []
    task = asyncio.ensure_future(_waker(event, rounds))
    await asyncio.sleep(0.01)
    # Both in the same turn of the loop: asyncio.wait_for on Python 3.11
    # returned normally here and the loop went round again, for ever.
    event.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)
    assert task in done and task.cancelled() and rounds == []
    event.clear()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 0.01) is True


async def test_closing_a_task_set_cancels_again_a_task_that_let_the_first_cancel_go() -> None:
    tasks = TaskSet("test")
    seen: list[str] = []

    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append("first cancel swallowed")
        await asyncio.sleep(60)

    task = tasks.spawn(stubborn(), "stubborn")
    await asyncio.sleep(0.01)
    await asyncio.wait_for(tasks.close(), 5)
    assert seen == ["first cancel swallowed"] and task.cancelled() and not tasks.tasks
