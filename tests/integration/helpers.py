"""Helpers for tests against the real PBX."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from hotline.ami.client import AMIClient
from hotline.ami.events import Event

E = TypeVar("E", bound=Event)


class Recorder:
    """Records every event a client dispatches and waits for matching ones."""

    def __init__(self, client: AMIClient):
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        client.on_any(self._record)

    async def _record(self, event: Event) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, kind: type[E], where: Callable[[E], bool] = lambda e: True) -> list[E]:
        return [e for e in self.events if isinstance(e, kind) and where(e)]

    async def wait_for(self, kind: type[E], where: Callable[[E], bool] = lambda e: True, timeout: float = 10.0) -> E:
        async def found() -> E:
            async with self._changed:
                while True:
                    hits = self.of(kind, where)
                    if hits:
                        return hits[0]
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(found(), timeout)
        except TimeoutError:
            names = sorted({type(e).__name__ for e in self.events})
            raise AssertionError(f"no {kind.__name__} within {timeout} s; saw {names}") from None


async def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll check() until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
