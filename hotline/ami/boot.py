"""Wait until an Asterisk answers on AMI and says FullyBooted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hotline.ami.client import AMIClient
from hotline.ami.events import FullyBooted
from hotline.config import AmiSettings
from hotline.tasks import wait_event


async def wait_fully_booted(settings: AmiSettings, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """True once FullyBooted arrives; False on timeout or when alive() turns False.

    Asterisk sends FullyBooted to every session that logs in after boot, and
    to open sessions when boot completes, so one handler covers both.
    """
    booted = asyncio.Event()
    fast = settings.model_copy(update={"backoff_initial": 0.1, "backoff_max": 0.5})
    client = AMIClient(fast, name="boot-wait", quiet=True)
    client.on(FullyBooted, lambda _e: booted.set())
    await client.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if booted.is_set():
                return True
            if not alive():
                return False
            await wait_event(booted, 0.2)
        return booted.is_set()
    finally:
        await client.close()
