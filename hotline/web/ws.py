"""The send side of a live page's websocket, fed from a bounded per-client queue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web


async def pump(ws: web.WebSocketResponse, queue: asyncio.Queue[str], handle: Callable[[str], Awaitable[bool]]) -> None:
    """Pass each queued frame to `handle` (which sends it) until the client
    goes away or `handle` returns False."""
    closing = asyncio.ensure_future(_drain(ws))
    getter: asyncio.Future[str] | None = None
    try:
        while not ws.closed:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, closing}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                break
            if not await handle(getter.result()):
                break
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        # Both, however it ended: a pending get left behind is a task destroyed while pending.
        closing.cancel()
        if getter is not None:
            getter.cancel()


async def feed(
    ws: web.WebSocketResponse,
    first: str,
    queue: asyncio.Queue[str],
    handle: Callable[[str], Awaitable[bool]],
    leave: Callable[[], None],
) -> None:
    """A live page's websocket: `first` (a snapshot), then every queued frame
    through `handle`, until the client goes; `leave` runs however it ends."""
    try:
        await ws.send_str(first)
        await pump(ws, queue, handle)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        leave()


async def _drain(ws: web.WebSocketResponse) -> None:
    async for msg in ws:  # the pages send nothing; this notices a close
        if msg.type == WSMsgType.ERROR:
            break
