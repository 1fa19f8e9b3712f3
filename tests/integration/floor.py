"""The ACD floor as tests drive it: agents logged in, callers queued, and
what Asterisk's queue holds (members, who may take a call)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Awaitable
from typing import Any

from aiohttp.test_utils import TestServer

from hotline.acd.api import ACD
from hotline.acd.service import AcdService
from hotline.ami import events as ev
from hotline.ami.client import AMIClient

_callers = itertools.count(13600000000)


def acd(server: TestServer) -> AcdService:
    return server.app[ACD]


async def staff(server: TestServer, seats: int, *, standby: list[int] = ()) -> None:
    """Log agents in at seat01..seatNN, in seat order."""
    service = acd(server)
    for i in range(1, seats + 1):
        await service.login(f"seat{i:02d}", f"agent{i:02d}", f"坐席员{i}", standby=i in standby)
        service.clock.now += dt.timedelta(seconds=1)  # a distinct login time each


async def queue_caller(ami: AMIClient, caller: str | None = None) -> str:
    """A caller straight into the hotline queue (the IVR is tested on its own)."""
    caller = caller or str(next(_callers))
    await ami.action(
        "Originate",
        Channel="Local/s@hotline-fallback",
        Application="Wait",
        Data="600",
        CallerID=f"<{caller}>",
        Async="true",
    )
    return caller


async def members(ami: AMIClient) -> dict[str, ev.QueueMember]:
    status = await ami.list_action("QueueStatus", Queue="hotline")
    return {e.interface: e for e in status.events if isinstance(e, ev.QueueMember)}


async def takers(ami: AMIClient) -> set[str]:
    """Members Asterisk may offer a call to right now."""
    return {i for i, m in (await members(ami)).items() if not m.paused}


def iface(n: int) -> str:
    return f"Local/seat{n:02d}@sim-seat/n"


async def equals(awaitable: Awaitable[Any], expected: Any) -> bool:
    return (await awaitable) == expected


async def member_paused(ami: AMIClient, interface: str, reason: str) -> bool:
    m = (await members(ami)).get(interface)
    return m is not None and m.paused and m.paused_reason == reason


async def channels(ami: AMIClient) -> list[ev.CoreShowChannel]:
    return [e for e in (await ami.list_action("CoreShowChannels")).events if isinstance(e, ev.CoreShowChannel)]


async def has_channel(ami: AMIClient, prefix: str, application: str = "") -> bool:
    return any(
        c.channel.startswith(prefix) and (not application or c.application == application) for c in await channels(ami)
    )


async def channel_gone(ami: AMIClient, prefix: str) -> bool:
    return not any(c.channel.startswith(prefix) for c in await channels(ami))
