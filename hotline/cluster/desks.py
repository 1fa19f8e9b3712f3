"""Desk frames across controllers, over PostgreSQL's LISTEN/NOTIFY.

A call is handled by the controller of the node that holds the agent's seat
(the screen pop, the ticket opened, the call's end), but the agent's desk
may be open at another controller. A frame for an agent who has no desk
here goes out on channel hotline_desk; every controller listens and hands
it to the desks it has for that agent. Chosen over polling because a pop
must reach the agent while the phone rings, and over a broker of our own
because every controller already holds the database. Seat and work frames
are not relayed: each controller sends those to its own desks."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hotline.cluster.connection import hold_connection
from hotline.jsonout import dumps
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)

CHANNEL = "hotline_desk"
RELAYED = frozenset({"pop", "pop-failed", "ticket", "call-ended", "chase"})
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
PAYLOAD_LIMIT = 7900


def envelope(node: str, agent: str, message: dict[str, Any]) -> str | None:
    """The NOTIFY payload, or None when the frame is not relayed or too big (pure)."""
    if message.get("type") not in RELAYED:
        return None
    payload = dumps({"from": node, "agent": agent, "message": message})
    if len(payload.encode()) > PAYLOAD_LIMIT and message.get("type") == "pop":
        # A long history is what makes a pop big: the desk reads it with the ticket.
        payload = dumps({"from": node, "agent": agent, "message": {**message, "history": []}})
    return payload if len(payload.encode()) <= PAYLOAD_LIMIT else None


def opened(node: str, payload: str) -> tuple[str, dict[str, Any]] | None:
    """(agent, message) of another node's frame; None for our own or a bad one (pure)."""
    try:
        data = json.loads(payload)
        if data["from"] == node or type(data["agent"]) is not str or type(data["message"]) is not dict:
            return None
        return data["agent"], data["message"]
    except (ValueError, KeyError, TypeError):
        log.warning("desk relay: an unreadable frame ignored")
        return None


class DeskRelay:
    def __init__(self, url: str, node: str, deliver: Callable[[str, dict[str, Any]], int], retry: float = 1.0):
        """deliver(agent, message): to this controller's desks; returns how many got it."""
        self.url = url
        self.node = node
        self.deliver = deliver
        self.retry = retry
        self.sent = 0
        self.received = 0
        self._out: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        self._tasks = TaskSet("desk-relay")

    def start(self) -> None:
        self._tasks.spawn(self._run(), name=f"desk-relay-{self.node}")

    async def close(self) -> None:
        await self._tasks.close()

    def send(self, agent: str, message: dict[str, Any]) -> None:
        """A frame no desk here took: to the other controllers."""
        payload = envelope(self.node, agent, message)
        if payload is None:
            return
        try:
            self._out.put_nowait(payload)
        except asyncio.QueueFull:
            log.error("desk relay: backlog full, a %s frame for %s dropped", message.get("type"), agent)

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        found = opened(self.node, payload)
        if found is not None:
            self.received += 1
            self.deliver(*found)

    async def _run(self) -> None:
        await hold_connection(self.url, f"desk relay of {self.node}", self._relay, self.retry)

    async def _relay(self, conn: AsyncConnection) -> None:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.add_listener(CHANNEL, self._heard)
        while True:
            try:
                payload = await asyncio.wait_for(self._out.get(), self.retry * 5)
            except TimeoutError:
                # Idle: make sure the connection (and so the LISTEN) still lives.
                async with asyncio.timeout(self.retry * 5):
                    await conn.execute(text("SELECT 1"))
                continue
            await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
            self.sent += 1
