"""An agent at the desk, as tests drive one: logged in on the web, working a
seat, with the desk's websocket open."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from hotline.roles import Role
from tests.integration.helpers import eventually
from tests.integration.ivr_helpers import Api

_users = itertools.count(1)


class Desk:
    """An agent: logged in on the web, working a seat, with the desk's websocket open."""

    def __init__(self, server: TestServer, seat: str, role: Role = Role.AGENT):
        self.server = server
        self.seat = seat
        self.role = role
        self.api = Api(server)
        self.frames: list[dict[str, Any]] = []
        self.username = ""
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, ready: bool = True) -> Desk:
        self.username = f"desk{next(_users)}"
        await self.api.login_as(self.role, self.username)
        status, body = await self.api.request("POST", "/api/agent/login", json={"seat": self.seat, "ready": True})
        assert status == 200, body
        if not ready:
            await self.api.request("POST", "/api/agent/pause", json={"reason": "meeting"})
        self._ws = await self.api.http.ws_connect(self.server.make_url("/ws/desk"), origin=self.api.origin)
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            self.frames.append(json.loads(msg.data))

    def pops(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] in ("pop", "ticket")]

    async def pop(self, timeout: float = 20) -> dict[str, Any]:
        """The screen pop and then the ticket it opened, as one dict."""
        await eventually(lambda: [f for f in self.frames if f["type"] == "ticket"], timeout=timeout)
        pop = [f for f in self.frames if f["type"] == "pop"][-1]
        ticket = [f for f in self.frames if f["type"] == "ticket"][-1]
        assert pop["call_id"] == ticket["ticket"]["call_id"] and pop["caller"] == ticket["ticket"]["caller"]
        assert self.frames.index(pop) < self.frames.index(ticket)  # caller and history come first
        return {**pop, **ticket}

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.api.request(method, path, **kw)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.api.close()
