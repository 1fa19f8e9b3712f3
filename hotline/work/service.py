"""The work queue: offers work items to agents off the phone lines.

One task runs rounds: pick up items other features wrote (work/rows.py),
withdraw or park what agents who left work hold (onto a line, a pause, a
logout), let lapsed offers go, and make new offers (work/board.py, pure).
Every decision is written before anyone sees it, with a guard on the
state it expects (`UPDATE … WHERE state = … AND agent = …`): of two
decisions about one item (a round's lapse and the agent's accept, a ticket
change that ended it) exactly one lands, so agents' commands need not wait
for a round. An offer made before a crash is the same offer after the
restart; nothing is offered twice at once. The ticket store hands each
commit's news over (work/rows.py), so an offer waits on no read.

With several controllers (`shared`), only the leader decides (`deciding`);
every controller takes agents' commands, tells the others after each write
(`on_written`), and on their word re-reads the items changed since its last
look.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.acd.service import AcdService
from hotline.config import Settings
from hotline.db.models import WorkEvent, WorkItem
from hotline.tasks import TaskSet, wait_event
from hotline.work import board
from hotline.work.board import KIND_TEXT, Item, State
from hotline.work.commands import WorkCommands, row_values
from hotline.work.reads import WorkReads
from hotline.work.rows import WorkNews
from hotline.work.views import ItemView, WorkSummary, held, item_view, work_summary

log = logging.getLogger(__name__)

# Besides catching up by id, the whole open set is re-read this often (a
# PostgreSQL transaction may commit a lower id after a higher one).
FULL_SYNC_SECONDS = 30.0


class WorkService(WorkCommands, WorkReads):
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker,
        acd: AcdService,
        clock: Callable[[], dt.datetime],
        deciding: Callable[[], bool] = lambda: True,
    ):
        self.settings = settings
        self.deciding = deciding
        self.shared = bool(settings.cluster.node)
        self.cfg = settings.work
        self.sessions = sessions
        self.acd = acd
        self.clock = clock
        self.items: dict[int, Item] = {}
        self.skills: dict[str, frozenset[str]] = {}
        # Seconds from the moment an item and a free agent were both there to
        # the offer written (time waiting for an agent is not latency).
        self.offer_latency: deque[float] = deque(maxlen=2000)
        self.conflicts = 0  # a guarded write found the row changed under it
        self._listeners: list[Callable[[], None]] = []
        self._agent_listeners: list[Callable[[str, list[ItemView]], None]] = []
        self._written_listeners: list[Callable[[], None]] = []
        self._last_sent: dict[str, list[ItemView]] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.rounds = 0  # rounds done: each offered whatever it could
        self._need_sync = True
        self._last_sync = 0.0
        self._last_full = 0.0
        self._item_mark = 0  # highest work item id seen
        self._event_mark = 0  # highest work event id seen
        self._skills_for: frozenset[str] = frozenset()
        self._tasks = TaskSet("work")
        self._news: list[WorkNews] = []
        self._seen_at: dict[int, float] = {}  # item id -> when this process first could offer it
        self._free_at: dict[str, float] = {}  # agent -> since when they hold nothing and may be offered
        acd.subscribe(self._wake.set, floor_only=True)

    def now(self) -> float:
        return self.clock().timestamp()

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        async with self._lock:
            await self._sync()
        self._tasks.spawn(self._run(), "work-queue")

    async def close(self) -> None:
        await self._tasks.close()

    def kick(self, news: WorkNews | None = None) -> None:
        """Items were written elsewhere: what the transaction reported, taken
        as it is; without news, look in the database now."""
        if news:
            self._news.append(news)
            self._written()
        elif news is None:
            self._need_sync = True
        self._wake.set()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Told after every round (the seat map compares and sends what changed)."""
        self._listeners.append(listener)

    def subscribe_agents(self, listener: Callable[[str, list[ItemView]], None]) -> None:
        """Told an agent's items whenever they change (the desks)."""
        self._agent_listeners.append(listener)

    def on_written(self, listener: Callable[[], None]) -> None:
        """Told after this controller committed a change of work (the other controllers hear of it)."""
        self._written_listeners.append(listener)

    def _written(self) -> None:
        for listener in self._written_listeners:
            listener()

    async def _run(self) -> None:
        while True:
            await wait_event(self._wake, min(1.0, self.cfg.sync_seconds))
            self._wake.clear()
            try:
                async with self._lock:
                    await self._round()
                    self.rounds += 1
            except Exception:
                log.exception("work round failed; next round retries")
                self._last_full = 0.0  # something changed under us: re-read everything
                await asyncio.sleep(0.5)

    # -- a round -------------------------------------------------------------------------
    async def _round(self) -> None:
        await self._offer_round()
        # Reading the database back comes after the offers: a full re-read
        # before them held the round's offers up by its length, every 30 s
        # (the offer tail, bench/work_queue.py). What it finds is offered by
        # the round that follows at once.
        mono = time.monotonic()
        if mono - self._last_full >= FULL_SYNC_SECONDS:
            await self._sync()
            self._wake.set()
        elif self._need_sync or mono - self._last_sync >= self.cfg.sync_seconds:
            await self._catch_up()
            self._wake.set()

    async def _offer_round(self) -> None:
        now = self.now()
        mono = time.monotonic()
        news, self._news = self._news, []
        for n in news:
            for it in n.created:
                self.items.setdefault(it.id, it)
            for item_id in n.finished:
                self.items.pop(item_id, None)
                self._seen_at.pop(item_id, None)
        if not self.deciding():
            self._publish()  # the leader offers; what it wrote is read back on its word
            return
        for it in self.items.values():
            if it.state == State.WAITING and it.not_before <= now and it.id not in self._seen_at:
                self._seen_at[it.id] = mono
        free = board.workers(self.acd.floor, self.skills)
        holding = {it.agent for it in self.items.values() if it.state in (State.OFFERED, State.ACCEPTED)}
        for w in free:
            if w.agent not in holding:
                self._free_at.setdefault(w.agent, mono)
        changes: list[tuple[Item, Item, str, str]] = []  # before, after, event, note
        for it in board.displaced(self.items.values(), free):
            if it.state == State.OFFERED:
                changes.append((it, board.released(it, parked=False), "withdrawn", "坐席离开工单处理"))
            else:
                changes.append((it, board.released(it, parked=True), "parked", "坐席接入话务线路或离开，工单暂存"))
        moved = {b.id for b, *_ in changes}
        for it in board.lapsed(self.items.values(), now):
            if it.id not in moved:
                changes.append((it, board.declined(it), "lapsed", f"{self.cfg.offer_seconds:g} 秒未接受"))
                # Free from this moment: without it, an offer made to them in
                # this round was timed from when its item came in (seconds of
                # backlog counted as the controller's own offer latency).
                self._free_at.setdefault(it.agent, mono)
        current = {**self.items, **{a.id: a for _, a, _, _ in changes}}
        for offer in board.plan(current.values(), free, self.cfg.per_agent, self.cfg.offer_seconds, now):
            it = current[offer.item]
            before = self.items[offer.item]
            changes.append((before, board.offered(it, offer, now), "offered", ""))
        if changes:
            await self._write(changes, now)
        self._publish()

    async def _write(self, changes: list[tuple[Item, Item, str, str]], now: float) -> None:
        """Persist the round's decisions, each guarded by the state it
        expects; then (and only then) take them as true."""
        # An item that changed twice in one round (withdrawn, then offered to
        # another agent) is written once, from its state at the round's start.
        final: dict[int, tuple[Item, Item, list[tuple[str, str, str]]]] = {}
        for before, after, event, note in changes:
            first = final.get(before.id, (before, after, []))
            final[before.id] = (first[0], after, [*first[2], (event, after.agent or before.agent, note)])
        applied: list[Item] = []
        # Urgent: an agent is waiting for this offer; it goes before the ticket
        # transactions still queued for SQLite's writer.
        async with self.sessions() as db, db.begin(urgent=True):
            for first, after, events in final.values():
                if not await self._guarded(db, first, **row_values(after)):
                    continue
                for event, agent, note in events:
                    db.add(WorkEvent(item_id=first.id, at=now, action=event, agent=agent, note=note))
                applied.append(after)
        for after in applied:
            self.items[after.id] = after
            if after.state == State.OFFERED:
                seen = self._seen_at.pop(after.id, None)
                free_since = self._free_at.pop(after.agent, None)
                if seen is not None:
                    self.offer_latency.append(max(0.0, time.monotonic() - max(seen, free_since or 0.0)))
            if after.parked:
                log.info("work item %s parked: its agent was needed on a line", after.id)
        if applied:
            self._written()

    async def _guarded(self, db: AsyncSession, before: Item, **values: Any) -> bool:
        """Write an item's new state only if it still is as `before` says;
        False (and a full re-read next round) if something changed it."""
        res = await db.execute(
            update(WorkItem)
            .where(WorkItem.id == before.id, WorkItem.state == before.state.value, WorkItem.agent == before.agent)
            .values(**values)
        )
        if res.rowcount == 1:
            return True
        self.conflicts += 1
        self._last_full = 0.0
        return False

    def _publish(self) -> None:
        working: dict[str, tuple[str, int]] = {}
        by_agent: dict[str, list[ItemView]] = {}
        seat_of = {s.agent: s.name for s in self.acd.floor.seats.values() if s.agent}
        now = self.now()
        for it in held(self.items.values()):
            by_agent.setdefault(it.agent, []).append(item_view(it, now))
            if it.state == State.ACCEPTED and it.agent in seat_of:
                working.setdefault(seat_of[it.agent], (KIND_TEXT.get(it.kind, it.kind), it.priority))
        self.acd.set_working(working)
        for agent in set(by_agent) | set(self._last_sent):
            mine = by_agent.get(agent, [])
            # The countdown alone changing is no news: the desk counts down itself.
            key = [view.steady() for view in mine]
            if self._last_sent.get(agent) != key:
                self._last_sent[agent] = key
                if not mine:
                    self._last_sent.pop(agent)
                for listener in self._agent_listeners:
                    listener(agent, mine)
        for listener in self._listeners:
            listener()

    # -- views -------------------------------------------------------------------------
    def of_agent(self, agent: str) -> list[ItemView]:
        now = self.now()
        return [item_view(it, now) for it in held(self.items.values()) if it.agent == agent]

    def summary(self) -> WorkSummary:
        return work_summary(self.items.values(), self.cfg.kinds, self.now())
