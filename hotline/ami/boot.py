"""Wait until an Asterisk answers on AMI and says FullyBooted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from hotline.ami.client import AMIClient
from hotline.ami.events import FullyBooted
from hotline.ami.replies import AMIError
from hotline.config import AmiSettings
from hotline.tasks import wait_event

# How long a logged-in session waits for the FullyBooted event before it asks.
ASK_AFTER = 3.0


@dataclass
class BootWait:
    """What the wait saw, for the message when Asterisk does not come up."""

    booted: bool = False
    logins: int = 0
    asked: int = 0
    last_error: str = ""

    def describe(self) -> str:
        if self.logins == 0:
            return f"AMI never completed a login ({self.last_error or 'no answer'})"
        return (
            f"AMI logged in {self.logins} time(s), no FullyBooted event; "
            f"'core waitfullybooted' asked {self.asked} time(s) without an answer"
            + (f" ({self.last_error})" if self.last_error else "")
        )


async def wait_fully_booted(
    settings: AmiSettings, timeout: float, alive: Callable[[], bool] = lambda: True, seen: BootWait | None = None
) -> bool:
    """True once Asterisk has fully booted; False on timeout or when alive() turns False.

    Asterisk sends FullyBooted to every session that logs in after boot, and
    to open sessions when boot completes, so one handler covers nearly every
    case. A logged-in session that has heard nothing for ASK_AFTER seconds
    asks with `core waitfullybooted` (which returns at once on a booted
    Asterisk): a start-up must not fail on one event that went astray.
    """
    seen = seen if seen is not None else BootWait()
    booted = asyncio.Event()
    fast = settings.model_copy(update={"backoff_initial": 0.1, "backoff_max": 0.5})
    client = AMIClient(fast, name="boot-wait", quiet=True)
    client.on(FullyBooted, lambda _e: booted.set())
    await client.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        ask_at: float | None = None
        while loop.time() < deadline and not booted.is_set():
            if not alive():
                break
            if not client.connected:
                ask_at = None
            elif ask_at is None:
                ask_at = loop.time() + ASK_AFTER
            elif loop.time() >= ask_at:
                ask_at = loop.time() + ASK_AFTER
                seen.asked += 1
                try:
                    out = await client.command("core waitfullybooted", timeout=ASK_AFTER)
                    if "fully booted" in out:
                        booted.set()
                except AMIError as exc:
                    seen.last_error = f"{type(exc).__name__}: {exc}"
                continue
            await wait_event(booted, 0.2)
        seen.booted = booted.is_set()
        return seen.booted
    finally:
        seen.logins = client.connections
        seen.last_error = seen.last_error or client.last_error
        await client.close()
