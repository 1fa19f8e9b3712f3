"""One PostgreSQL LISTEN/NOTIFY channel between controllers, on a
connection of its own (a LISTEN lives and dies with exactly one session).

Chosen over polling because what crosses it must arrive while a phone rings
or an offer counts down, and over a broker of our own because every
controller already holds the database. A payload is sent after the commit
it tells of; one that cannot be sent while the database is away is dropped
(the receivers' periodic reads catch up)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hotline.cluster.connection import hold_connection
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)


class Channel:
    def __init__(self, url: str, node: str, channel: str, heard: Callable[[str], None], retry: float = 1.0):
        """heard(payload) for every notification on the channel, this
        controller's own included."""
        self.url = url
        self.node = node
        self.channel = channel
        self.heard = heard
        self.retry = retry
        self.sent = 0
        self._out: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        self._tasks = TaskSet(channel)

    def start(self) -> None:
        self._tasks.spawn(self._run(), name=f"{self.channel}-{self.node}")

    async def close(self) -> None:
        await self._tasks.close()

    @property
    def pending(self) -> int:
        return self._out.qsize()

    def send(self, payload: str) -> bool:
        """Queued for the other controllers; False when the backlog is full."""
        try:
            self._out.put_nowait(payload)
        except asyncio.QueueFull:
            return False
        return True

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.heard(payload)

    async def _run(self) -> None:
        await hold_connection(self.url, f"{self.channel} of {self.node}", self._hold, self.retry)

    async def _hold(self, conn: AsyncConnection) -> None:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.add_listener(self.channel, self._notified)
        while True:
            try:
                payload = await asyncio.wait_for(self._out.get(), self.retry * 5)
            except TimeoutError:
                # Idle: make sure the connection (and so the LISTEN) still lives.
                async with asyncio.timeout(self.retry * 5):
                    await conn.execute(text("SELECT 1"))
                continue
            await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": self.channel, "p": payload})
            self.sent += 1


def envelope(node: str, to: str, said: dict[str, str]) -> str:
    return json.dumps({"from": node, "to": to, "said": said})


def opened(node: str, payload: str) -> tuple[str, dict[str, str]] | None:
    """(sender, what it says) of a message for this node; None otherwise (pure)."""
    try:
        data: Any = json.loads(payload)
        sender, to, said = data["from"], data["to"], data["said"]
    except (ValueError, KeyError, TypeError):
        log.warning("a payload that is not ours: %.80r", payload)
        return None
    if type(sender) is not str or to != node or type(said) is not dict:
        return None
    if not all(type(k) is str and type(v) is str for k, v in said.items()):
        return None
    return sender, said


class Directed:
    """Messages from one controller to another named one (flat string maps)."""

    def __init__(self, url: str, node: str, channel: str, heard: Callable[[str, dict[str, str]], None]):
        self.node = node
        self.heard = heard
        self.channel = Channel(url, node, channel, self._heard)

    def _heard(self, payload: str) -> None:
        found = opened(self.node, payload)
        if found is not None:
            self.heard(*found)

    def start(self) -> None:
        self.channel.start()

    async def close(self) -> None:
        await self.channel.close()

    def send(self, to: str, said: dict[str, str]) -> None:
        if not self.channel.send(envelope(self.node, to, said)):
            log.warning("%s: backlog full, %s for node %s dropped", self.channel.channel, said.get("op"), to)
