"""The event loop the controller runs on.

uvloop: the same controller and calls cost about a fifth less controller CPU
than on asyncio's own loop (bench/native_twin.py, 300 callers: 17.3 -> 14.4
ms per call). The test suite keeps asyncio's loop: the code depends on
nothing uvloop-specific, and pytest-asyncio manages its own loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def new_loop() -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return uvloop.run(coro)
