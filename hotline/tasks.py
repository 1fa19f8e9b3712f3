"""Tracked background tasks: none is fire-and-forget.

Each owner keeps its tasks in one TaskSet, which logs a task's failure and,
at shutdown, lets running work finish for a grace period before cancelling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskSet:
    def __init__(self, owner: str):
        self.owner = owner
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s task %s failed", self.owner, task.get_name(), exc_info=task.exception())

    async def close(self, grace: float = 0.0) -> None:
        """Wait up to `grace` seconds for running tasks, then cancel the rest.

        A task that lets a cancellation go by is cancelled again each second
        and named in the log; after ten seconds it is left behind, so a stop
        never hangs on one."""
        if grace and self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace)
        pending = set(self.tasks)
        for attempt in range(10):
            if not pending:
                return
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
            for task in pending:
                log.warning("%s task %s did not stop when cancelled (%d)", self.owner, task.get_name(), attempt + 1)
        for task in pending:
            log.error("%s task %s left running at shutdown", self.owner, task.get_name())


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for `event` at most `timeout` seconds; whether it is set.

    Not asyncio.wait_for: on Python 3.11 it returns normally when the task
    is cancelled just as the event is set, so a loop around it outlives its
    cancellation (a controller stop hung on the work queue's loop that way)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()
