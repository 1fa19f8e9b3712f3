"""What agents do with the items they hold (accept, hand back, try again
later, complete): each one guarded write of the state it expects, so a
command never waits for the queue's round and of two decisions about one
item exactly one lands. WorkService's base: the queue's state is its."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config import WorkSettings
from hotline.db.models import WorkEvent
from hotline.errors import HotlineError
from hotline.work import board
from hotline.work.board import Item, State
from hotline.work.views import ItemView, item_view

__all__ = ["WorkCommands", "WorkNotFound", "WorkRefused", "row_values"]


class WorkRefused(HotlineError):
    error_id = "work-refused"
    status = 409


class WorkNotFound(HotlineError):
    error_id = "work-not-found"
    status = 404


def row_values(it: Item) -> dict[str, Any]:
    return {
        "state": it.state.value,
        "agent": it.agent,
        "offered_at": it.offered_at,
        "offer_until": it.offer_until,
        "accepted_at": it.accepted_at,
        "declined": sorted(it.declined),
        "parked": it.parked,
        "not_before": it.not_before,
        "attempts": it.attempts,
    }


class WorkCommands:
    # The queue's state, kept by WorkService.
    cfg: WorkSettings
    sessions: async_sessionmaker
    items: dict[int, Item]
    _free_at: dict[str, float]
    _wake: asyncio.Event
    now: Callable[[], float]
    _publish: Callable[[], None]
    _written: Callable[[], None]
    _guarded: Callable[..., Awaitable[bool]]

    def held(self, agent: str, item_id: int, states: Iterable[State]) -> Item:
        it = self.items.get(item_id)
        if it is None:
            raise WorkNotFound(f"工作项 {item_id} 不存在或已完成", item=item_id)
        if it.agent != agent or it.state not in set(states):
            raise WorkRefused("这项工作不在您手上", item=item_id)
        return it

    # -- agents' commands ----------------------------------------------------------------
    async def accept(
        self, agent: str, item_id: int, also: Callable[[AsyncSession, Item], Awaitable[None]] | None = None
    ) -> ItemView:
        it = self.held(agent, item_id, (State.OFFERED,))
        await self._change(it, board.accepted(it, self.now()), "accepted", "", also)
        self._wake.set()
        return item_view(self.items[item_id], self.now())

    async def hand_back(self, agent: str, item_id: int, reason: str) -> None:
        it = self.held(agent, item_id, (State.OFFERED, State.ACCEPTED))
        await self._change(it, board.declined(it), "handed-back", reason or "坐席交回")
        self._wake.set()

    async def retry_later(self, agent: str, item_id: int, note: str) -> dict[str, Any]:
        """Not reached (a callback nobody answered): tried again after
        work.retry_minutes, by anyone; after work.attempts, it ends."""
        it = self.held(agent, item_id, (State.ACCEPTED,))
        tries = it.attempts + 1
        if tries >= self.cfg.attempts:
            await self._finish(it, "unreachable", agent, note or f"{tries} 次未接通")
            return {"done": True, "attempts": tries}
        later = replace(
            board.released(it, parked=False), attempts=tries, not_before=self.now() + self.cfg.retry_minutes * 60
        )
        await self._change(it, later, "retry", note or f"第 {tries} 次未接通")
        self._wake.set()
        return {"done": False, "attempts": tries}

    async def complete(
        self,
        agent: str,
        item_id: int,
        outcome: str,
        note: str = "",
        also: Callable[[AsyncSession, Item], Awaitable[None]] | None = None,
    ) -> None:
        """End an item whose work is not a ticket action (a voice message
        answered, a callback made, not a duplicate after all)."""
        it = self.held(agent, item_id, (State.ACCEPTED,))
        await self._finish(it, outcome, agent, note, also)
        self._wake.set()

    async def _finish(
        self,
        it: Item,
        outcome: str,
        agent: str,
        note: str,
        also: Callable[[AsyncSession, Item], Awaitable[None]] | None = None,
    ) -> None:
        now = self.now()
        async with self.sessions() as db, db.begin():
            if not await self._guarded(
                db, it, state=State.DONE.value, done_at=now, outcome=outcome[:32], offer_until=None
            ):
                raise WorkRefused("这项工作已被处理", item=it.id)
            db.add(WorkEvent(item_id=it.id, at=now, action="done", agent=agent, note=note or outcome))
            if also is not None:
                await also(db, it)
        self.items.pop(it.id, None)
        self._free_at[agent] = time.monotonic()
        self._publish()
        self._written()

    async def _change(
        self,
        before: Item,
        after: Item,
        event: str,
        note: str,
        also: Callable[[AsyncSession, Item], Awaitable[None]] | None = None,
    ) -> None:
        now = self.now()
        async with self.sessions() as db, db.begin():
            if not await self._guarded(db, before, **row_values(after)):
                raise WorkRefused("这项工作已被处理或已转给他人", item=before.id)
            db.add(WorkEvent(item_id=before.id, at=now, action=event, agent=before.agent or after.agent, note=note))
            if also is not None:
                await also(db, after)
        self.items[after.id] = after
        if before.agent and after.agent != before.agent:
            self._free_at[before.agent] = time.monotonic()
        self._publish()
        self._written()
