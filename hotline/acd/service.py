"""The ACD: agents' commands and queue events in, app_queue membership out.

Pure state (hotline/seats/state.py, hotline/acd/lines.py) decides who should
be a member and whether they take calls; this service keeps that intent in
the database, and one reconciler task diffs it against what Asterisk has
(the PBX mirror, rebuilt from QueueStatus after every reconnect) and repairs
Asterisk with one action per difference. A seat it cannot repair is flagged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from hotline.acd import lines as ln
from hotline.acd.overflow import Overflow
from hotline.acd.overrides import LeadOverrides
from hotline.acd.planner import LinePlanner
from hotline.acd.queue_events import QueueEvents
from hotline.acd.reconcile import Outcome, Reconciler
from hotline.acd.shared_floor import SharedFloor, with_sessions
from hotline.acd.views import AcdViews
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.legs import EarlyEnds
from hotline.ami.resync import MirrorKeeper
from hotline.config import Settings
from hotline.db.batch import WriteQueue
from hotline.db.models import AcdEvent, AgentSession, QueueCall
from hotline.ivr.schedule import Calendar
from hotline.seats import state as st
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """Something the shift lead should see: what changed and why."""

    at: str
    kind: str
    seat: str
    detail: str
    actor: str = ""


class AcdService(QueueEvents, AcdViews, LeadOverrides, LinePlanner, SharedFloor):
    def __init__(
        self,
        settings: Settings,
        client: AMIClient,
        keeper: MirrorKeeper,
        sessions: async_sessionmaker,
        writes: WriteQueue,
        clock: Callable[[], dt.datetime],
    ):
        self.settings = settings
        self.acd = settings.acd
        self.client = client
        self.keeper = keeper
        self.sessions = sessions
        self.clock = clock
        self.calendar = Calendar.from_settings(settings.ivr)
        names = settings.seats.names()
        self.floor = st.Floor.empty({n: settings.seats.interface(n) for n in names})
        self.lines = ln.Lines()
        self.overflow = Overflow()
        self.overflow_exempt: frozenset[str] = frozenset()  # agents the lead keeps off overflow
        self.waiting: dict[str, float] = {}  # caller uniqueid -> joined (epoch s)
        self.lawyer_waiting: dict[str, float] = {}  # the same, in the lawyer queue
        self.changes: deque[Change] = deque(maxlen=500)
        self._wrapup_started: dict[str, tuple[str, float]] = {}  # seat -> (caller uniqueid, start)
        # interface -> caller uniqueid of the call in progress. AgentComplete
        # was seen without any caller fields when the caller hung up first
        # (Asterisk 22: the caller's snapshot is gone by then).
        self._in_call: dict[str, str] = {}
        self._call_info: dict[str, dict[str, str]] = {}  # interface -> tag, IVR category of the call
        self._legs: dict[str, tuple[str, str, float]] = {}  # seat's leg -> interface, caller uniqueid, answered
        self._early = EarlyEnds()  # calls that ended when the seat's leg hung up
        # The seats this node's queue holds: all on one node; in a cluster,
        # none until the first placement is read (cluster/seats.py).
        self.hosted: frozenset[str] | None = frozenset() if settings.cluster.node else None
        self.placed_on: dict[str, str] = {}  # seat -> its node, in a cluster
        # Figures and the audit trail, a batch every 50 ms at most (one fsync),
        # shared with the IVR's call rows.
        self.writes = writes
        self.reconciler = Reconciler(
            client,
            lambda: keeper.mirror,
            lambda: self.floor,
            ((self.acd.queue, False), (self.acd.lawyer_queue, True)),
            self._reconciled,
            settings.seats.state_interface,
            lambda: self.hosted,
        )
        self._listeners: list[tuple[Callable[[], None], bool]] = []  # (listener, floor changes only)
        self._notified_seats: tuple[object, ...] = ()  # what a seat's view was made of when last told
        self._tasks = TaskSet("ACD")
        client.on(ev.AgentCalled, self._on_called)
        client.on(ev.AgentConnect, self._on_connect)
        client.on(ev.AgentComplete, self._on_complete)
        client.on(ev.Hangup, self._on_seat_leg_hangup)
        client.on(ev.AgentRingNoAnswer, self._on_no_answer)
        client.on(ev.QueueCallerJoin, self._on_join)
        client.on(ev.QueueCallerLeave, self._on_leave)
        client.on(ev.QueueCallerAbandon, self._on_abandon)
        keeper.subscribe(self._on_mirror)

    # -- lifecycle -------------------------------------------------------------
    def now(self) -> float:
        return self.clock().timestamp()

    async def start(self) -> None:
        async with self.sessions() as db:
            rows = list((await db.scalars(select(AgentSession))).all())
        self.floor = with_sessions(self.floor, rows, self.now())
        await self._restore_intent()
        self._recompute()
        self._tasks.spawn(self.reconciler.run(), "acd-reconciler")
        self._tasks.spawn(self._ticker(), "acd-ticker")

    async def drain(self) -> None:
        """Wait until every queued write is done (figures read after this)."""
        await self.writes.drain()

    async def close(self) -> None:
        await self._tasks.close()
        await self.writes.close()  # the ACD's last writes are stored; the queue runs on

    def subscribe(self, listener: Callable[[], None], *, floor_only: bool = False) -> None:
        """listener() after a change; with floor_only, only when a seat
        changed (not for a caller joining or leaving the queue)."""
        self._listeners.append((listener, floor_only))

    @property
    def desynced(self) -> dict[str, str]:
        """Seats Asterisk refused to bring in step, and why."""
        return self.reconciler.desynced

    @property
    def actions_sent(self) -> int:
        return self.reconciler.actions_sent

    def _reconciled(self, outcome: Outcome) -> None:
        if outcome.desynced is None:
            self.note("repaired", outcome.seat, "与交换机状态已一致")
        else:
            self.note("desynced", outcome.seat, f"无法同步到交换机：{outcome.desynced}")
        self._changed()

    def _changed(self) -> None:
        # Most changes are a caller joining or leaving: the seats stay as they
        # were, and what reads only the seats (the reconciler, the work
        # queue, the desks) is not woken for them.
        seats = (self.floor, self.overflow, self.overflow_exempt, tuple(self.reconciler.desynced.items()))
        moved = seats != self._notified_seats
        self._notified_seats = seats
        if moved:
            self.reconciler.poke()
        for listener, floor_only in self._listeners:
            if floor_only and not moved:
                continue
            try:
                listener()
            except Exception:
                log.exception("ACD listener failed")

    def note(self, kind: str, seat: str, detail: str, actor: str = "", store: bool = True) -> None:
        """For the lead's change log; stored unless another controller stores it."""
        change = Change(self.clock().isoformat(timespec="seconds"), kind, seat, detail, actor)
        self.changes.append(change)
        log.info("acd %s %s: %s", kind, seat or "-", detail)
        if store:
            self.writes.put(lambda db: self._store_change(db, change))

    @staticmethod
    async def _store_change(db: AsyncConnection, c: Change) -> None:
        # The controller's clock: attendance is read from these rows (roster/presence.py).
        at = dt.datetime.fromisoformat(c.at)
        row = {"at": at, "kind": c.kind, "seat": c.seat, "actor": c.actor, "detail": c.detail}
        await db.execute(insert(AcdEvent), [row])

    def _apply(self, floor: st.Floor) -> None:
        if floor is not self.floor:
            self._record_wrapups(self.floor, floor)
            self.floor = floor
            self._recompute()

    def _record_wrapups(self, before: st.Floor, after: st.Floor) -> None:
        """After-call time ends when the agent ends it or its timer runs out."""
        now = self.now()
        for name, old in before.seats.items():
            new = after.seats[name]
            if old.wrapup_until is not None and new.wrapup_until is None:
                started = self._wrapup_started.pop(name, None)
                if started is not None:
                    uniqueid, t0 = started
                    self.writes.put(lambda db, u=uniqueid, d=now - t0: self._store_wrapup(db, u, d))

    @staticmethod
    async def _store_wrapup(db: AsyncConnection, uniqueid: str, seconds: float) -> None:
        await db.execute(update(QueueCall).where(QueueCall.uniqueid == uniqueid).values(wrapup_s=round(seconds, 1)))

    # -- agent commands ------------------------------------------------------------
    def staffed(self, queue: str) -> bool:
        """Someone is logged in to take the queue's calls. The hotline's
        queue always counts (零呼损: its callers wait for the next line);
        the lawyers' only while a lawyer is logged in."""
        if queue == self.acd.lawyer_queue:
            return any(s.lawyer and s.logged_in for s in self.floor.seats.values())
        return True

    async def login(
        self, seat: str, agent: str, agent_name: str, standby: bool = False, lawyer: bool = False
    ) -> st.Seat:
        floor = st.login(self.floor, seat, agent, agent_name, self.now(), standby, lawyer)
        s = floor.seats[seat]
        async with self.sessions() as db, db.begin():
            await db.execute(delete(AgentSession).where(AgentSession.seat == seat))
            await db.execute(
                insert(AgentSession),
                [
                    {
                        "seat": seat,
                        "agent": agent,
                        "agent_name": agent_name,
                        "login_at": s.login_at,
                        "standby": s.standby,
                        "pause": "",
                        "lawyer": lawyer,
                    }
                ],
            )
        self.note(
            "login", seat, f"{agent_name} 登录" + ("（备班）" if s.standby else "（律师）" if lawyer else ""), agent
        )
        self._apply(floor)
        return self.floor.seats[seat]

    async def logout(self, seat: str, actor: str) -> None:
        floor = st.logout(self.floor, seat, self.now())
        async with self.sessions() as db, db.begin():
            await db.execute(delete(AgentSession).where(AgentSession.seat == seat))
        self.note("logout", seat, "退出", actor)
        self._apply(floor)

    async def pause(self, seat: str, reason: str, actor: str) -> st.Seat:
        floor = st.pause(self.floor, seat, reason, self.now())
        await self._store_pause(seat, floor.seats[seat].pause)
        self.note("pause", seat, f"暂停：{floor.seats[seat].pause}", actor)
        self._apply(floor)
        return self.floor.seats[seat]

    async def pause_system(self, seat: str, label: str) -> None:
        self._apply(st.system_pause(self.floor, seat, label, self.now()))
        await self._store_pause(seat, label)
        self.note("pause", seat, f"暂停：{label}")

    async def ready(self, seat: str, actor: str) -> st.Seat:
        floor = st.ready(self.floor, seat, self.now())
        await self._store_pause(seat, "")
        self.note("ready", seat, "就绪", actor)
        self._apply(floor)
        return self.floor.seats[seat]

    async def _store_pause(self, seat: str, reason: str) -> None:
        async with self.sessions() as db, db.begin():
            await self._write_pause(db, seat, reason)

    @staticmethod
    async def _write_pause(db: AsyncSession | AsyncConnection, seat: str, reason: str) -> None:
        await db.execute(update(AgentSession).where(AgentSession.seat == seat).values(pause=reason))

    def set_working(self, working: dict[str, tuple[str, int]]) -> None:
        """The work queue tells which seats hold an item (seat -> kind text)."""
        self._apply(st.set_working(self.floor, working))

    # -- background ------------------------------------------------------------------
    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.acd.tick_seconds)
            ticked = st.tick(self.floor, self.now())
            self._record_wrapups(self.floor, ticked)
            self.floor = ticked
            self._recompute()
