"""What the work queue reads back from the database: the whole open set
now and then, and since its last look the items written elsewhere and the
items changed or ended (WorkService's base: the queue's state is its)."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.acd.service import AcdService
from hotline.db.models import User, WorkEvent, WorkItem
from hotline.work.board import Item, State
from hotline.work.rows import item_of


class WorkReads:
    sessions: async_sessionmaker
    acd: AcdService
    items: dict[int, Item]
    skills: dict[str, frozenset[str]]
    shared: bool  # other controllers write work too
    _need_sync: bool
    _last_sync: float
    _last_full: float
    _item_mark: int
    _event_mark: int
    _skills_for: frozenset[str]
    _seen_at: dict[int, float]

    async def _sync(self) -> None:
        """The database's open items are the truth: new ones join, finished
        ones leave (a ticket change ended them), and skills are re-read."""
        self._need_sync = False
        self._last_sync = self._last_full = time.monotonic()
        async with self.sessions() as db:
            # Marks first: anything committed after them is caught up later.
            self._item_mark = await db.scalar(select(func.max(WorkItem.id))) or 0
            self._event_mark = await db.scalar(select(func.max(WorkEvent.id))) or 0
            rows = (await db.scalars(select(WorkItem).where(WorkItem.state != State.DONE.value))).all()
            await self._load_skills(db, force=True)
        fresh = {r.id: item_of(r) for r in rows}
        for gone in set(self.items) - set(fresh):
            self._seen_at.pop(gone, None)
        self.items = fresh

    async def _catch_up(self) -> None:
        """Since the last look: items written elsewhere, and items a ticket
        change ended (their "done" event). Cheap at any backlog: two index
        range reads; a full sync every FULL_SYNC_SECONDS catches the rest."""
        self._need_sync = False
        self._last_sync = time.monotonic()
        async with self.sessions() as db:
            rows = (await db.scalars(select(WorkItem).where(WorkItem.id > self._item_mark).order_by(WorkItem.id))).all()
            # Alone, this controller knows its own changes; with others it
            # re-reads every item an event since the last look changed.
            changed = WorkEvent.id > self._event_mark
            done = (
                await db.execute(
                    select(WorkEvent.id, WorkEvent.item_id).where(
                        changed if self.shared else changed & (WorkEvent.action == "done")
                    )
                )
            ).all()
            ids = {item_id for _, item_id in done}
            again = (await db.scalars(select(WorkItem).where(WorkItem.id.in_(ids)))).all() if self.shared else []
            await self._load_skills(db)
        for r in rows:
            self._item_mark = max(self._item_mark, r.id)
            if r.state != State.DONE.value and r.id not in self.items:
                self.items[r.id] = item_of(r)
        for event_id, _ in done:
            self._event_mark = max(self._event_mark, event_id)
        fresh = {r.id: r for r in again}
        for item_id in ids:
            row = fresh.get(item_id)
            if row is not None and row.state != State.DONE.value:
                self.items[item_id] = item_of(row)
            else:
                self.items.pop(item_id, None)
                self._seen_at.pop(item_id, None)

    async def _load_skills(self, db: AsyncSession, force: bool = False) -> None:
        agents = frozenset(s.agent for s in self.acd.floor.seats.values() if s.agent)
        if not force and agents == self._skills_for:
            return
        users = (await db.execute(select(User.username, User.skills).where(User.username.in_(agents)))).all()
        self.skills = {u: frozenset(x for x in (skills or "").split(",") if x) for u, skills in users}
        self._skills_for = agents
