"""Desk frames across controllers, over PostgreSQL's LISTEN/NOTIFY.

A call is handled by the controller of the node that holds the agent's seat
(the screen pop, the ticket opened, the call's end), but the agent's desk
may be open at another controller. A frame for an agent who has no desk
here goes out on channel hotline_desk (cluster/notify.py); every controller
listens and hands it to the desks it has for that agent. Seat and work
frames are not relayed: each controller sends those to its own desks (its
work queue hears of other controllers' work on hotline_work)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from hotline.cluster.notify import Channel
from hotline.jsonout import dumps

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
        self.node = node
        self.deliver = deliver
        self.received = 0
        self.channel = Channel(url, node, CHANNEL, self._heard, retry)

    @property
    def sent(self) -> int:
        return self.channel.sent

    def start(self) -> None:
        self.channel.start()

    async def close(self) -> None:
        await self.channel.close()

    def send(self, agent: str, message: dict[str, Any]) -> None:
        """A frame no desk here took: to the other controllers."""
        payload = envelope(self.node, agent, message)
        if payload is not None and not self.channel.send(payload):
            log.error("desk relay: backlog full, a %s frame for %s dropped", message.get("type"), agent)

    def _heard(self, payload: str) -> None:
        found = opened(self.node, payload)
        if found is not None:
            self.received += 1
            self.deliver(*found)
