"""One task delivers AMI events, in order, to the handlers registered for
their type; a failing handler is logged and counted, never fatal."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hotline.ami.events import Event

log = logging.getLogger(__name__)

_DISPATCH_SLICE = 0.002  # seconds of event handling before other tasks get a turn

Handler = Callable[[Any], Awaitable[None] | None]
E = TypeVar("E", bound=Event)


class Dispatcher:
    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = {}
        self._any_handlers: list[Handler] = []
        # Each type's handlers then the catch-all ones, made once per type.
        self._routes: dict[type[Event], tuple[Handler, ...]] = {}
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self.handler_errors = 0
        # Seconds from Asterisk sending an event to its handlers running.
        self.event_lags: deque[float] = deque(maxlen=100_000)

    def on(self, event_type: type[E], handler: Callable[[E], Awaitable[None] | None]) -> None:
        """Route events of this type (and subclasses' exact names) to handler."""
        self._handlers.setdefault(event_type, []).append(handler)
        self._routes.clear()

    def on_any(self, handler: Handler) -> None:
        self._any_handlers.append(handler)
        self._routes.clear()

    def put(self, event: Event) -> None:
        self._events.put_nowait(event)

    async def run(self) -> None:
        # Queue.get() does not yield while events are queued: a burst of
        # thousands (300 callers at once) would starve every other task (a
        # screen pop waited seconds, bench/screen_pop.py). Yield every few ms.
        slice_end = time.monotonic() + _DISPATCH_SLICE
        while True:
            if time.monotonic() >= slice_end:
                await asyncio.sleep(0)
                slice_end = time.monotonic() + _DISPATCH_SLICE
            if self._events.empty():
                event = await self._events.get()
                slice_end = time.monotonic() + _DISPATCH_SLICE
            else:
                event = self._events.get_nowait()
            stamp = event.raw.get("Timestamp")
            if stamp:
                try:
                    self.event_lags.append(time.time() - float(stamp))
                except ValueError:
                    pass
            handlers = self._routes.get(type(event))
            if handlers is None:
                handlers = self._routes[type(event)] = (*self._handlers.get(type(event), ()), *self._any_handlers)
            for handler in handlers:
                try:
                    result = handler(event)
                    if result is not None and (asyncio.iscoroutine(result) or isinstance(result, asyncio.Future)):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # A failing handler must never take the connection down.
                    self.handler_errors += 1
                    log.exception("AMI handler %r failed on %s", handler, type(event).__name__)
