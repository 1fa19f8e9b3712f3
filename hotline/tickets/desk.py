"""Agent desks' websockets: a screen pop goes to one agent's desks only.

Each open desk (an agent may have two tabs) gets a bounded queue. A desk
that cannot keep up is closed rather than silently missing a pop: the page
reconnects and reads its open ticket again. Seat state reaches each desk by
update-compare-notify: a frame only when that agent's seat view changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hotline.acd.service import AcdService
from hotline.jsonout import dumps

log = logging.getLogger(__name__)

CLOSE = "close"


@dataclass(eq=False)
class Desk:
    agent: str
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=32))
    overflowed: bool = False

    def offer(self, frame: str) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(CLOSE)


class DeskHub:
    def __init__(self, acd: AcdService):
        self.acd = acd
        self.desks: dict[str, set[Desk]] = {}
        self._last_seat: dict[str, Any] = {}
        self._flush_scheduled = False
        # The work items an agent holds (set by the work queue): a desk that
        # connects is told them at once, not only at their next change.
        self.work_of: Callable[[str], list[dict[str, Any]]] | None = None
        # A frame for an agent with no desk here (in a cluster the desk may be
        # open at another controller): set by the cluster's desk relay.
        self.unreached: Callable[[str, dict[str, Any]], None] | None = None
        acd.subscribe(self._seats_changed, floor_only=True)

    def join(self, agent: str) -> Desk:
        desk = Desk(agent)
        self.desks.setdefault(agent, set()).add(desk)
        if self.work_of is not None:
            desk.offer(dumps({"type": "work", "items": self.work_of(agent)}))
        return desk

    def leave(self, desk: Desk) -> None:
        mine = self.desks.get(desk.agent)
        if mine is not None:
            mine.discard(desk)
            if not mine:
                del self.desks[desk.agent]
                self._last_seat.pop(desk.agent, None)

    def push(self, agent: str, message: dict[str, Any], *, relay: bool = True) -> int:
        """Send to every open desk of this agent here; returns how many got it.
        relay: one that reaches no desk here is handed to `unreached`."""
        desks = self.desks.get(agent, ())
        if not desks:
            if relay and self.unreached is not None:
                self.unreached(agent, message)
            return 0
        frame = dumps(message)
        for desk in list(desks):
            desk.offer(frame)
        return len(desks)

    def seat_frame(self, agent: str) -> dict[str, Any]:
        seat = self.acd.seat_of_agent(agent)
        return {"type": "seat", "seat": self.acd.seat_view(seat).as_dict() if seat else None}

    def _seats_changed(self) -> None:
        # A burst of ACD changes (300 callers joining) costs one comparison
        # per open desk, at the end of this turn of the loop.
        if self.desks and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_seats)

    def _flush_seats(self) -> None:
        self._flush_scheduled = False
        for agent in list(self.desks):
            frame = self.seat_frame(agent)
            if frame != self._last_seat.get(agent):
                self._last_seat[agent] = frame
                self.push(agent, frame)
