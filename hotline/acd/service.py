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
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.acd import figures
from hotline.acd import lines as ln
from hotline.acd.intent import Fix, desired, diff
from hotline.ami import events as ev
from hotline.ami.client import AMIActionError, AMIClient, AMIError
from hotline.ami.resync import MirrorKeeper
from hotline.config import Settings
from hotline.db.models import AcdEvent, AgentSession, Callback, QueueCall, utcnow
from hotline.ivr.schedule import Calendar
from hotline.seats import state as st
from hotline.tasks import TaskSet
from hotline.numbers import ascii_digits

log = logging.getLogger(__name__)

# app_queue member status (a device state): AST_DEVICE_RINGING.
_DEVICE_RINGING = 6

Write = Callable[[AsyncSession], Awaitable[None]]

# Replies that mean Asterisk already is where we want it.
_CONVERGED = ("already there", "not there", "not found")


@dataclass(frozen=True, slots=True)
class Change:
    """Something the shift lead should see: what changed and why."""

    at: str
    kind: str
    seat: str
    detail: str
    actor: str = ""


class AcdService:
    def __init__(self, settings: Settings, client: AMIClient, keeper: MirrorKeeper,
                 sessions: async_sessionmaker, clock: Callable[[], dt.datetime]):
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
        self.waiting: dict[str, float] = {}  # caller uniqueid -> joined (epoch s)
        self.desynced: dict[str, str] = {}  # seat -> why it could not be repaired
        self.changes: deque[Change] = deque(maxlen=500)
        self.actions_sent = 0
        self._wrapup_started: dict[str, tuple[str, float]] = {}  # seat -> (caller uniqueid, start)
        # interface -> caller uniqueid of the call in progress. AgentComplete
        # was seen without any caller fields when the caller hung up first
        # (Asterisk 22: the caller's snapshot is gone by then).
        self._in_call: dict[str, str] = {}
        self._call_info: dict[str, dict[str, str]] = {}  # interface -> tag, IVR category of the call
        # Database writes go through one ordered queue, so event handlers
        # never wait on a commit (fsync) and the dispatcher keeps up; what has
        # piled up is written in one transaction (one fsync for a burst).
        self._writes: asyncio.Queue[Write] = asyncio.Queue()
        self._listeners: list[Callable[[], None]] = []
        self._dirty = asyncio.Event()
        self._tasks = TaskSet("ACD")
        client.on(ev.AgentCalled, self._on_called)
        client.on(ev.AgentConnect, self._on_connect)
        client.on(ev.AgentComplete, self._on_complete)
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
            rows = (await db.scalars(select(AgentSession))).all()
        floor = self.floor
        for r in rows:
            if r.seat in floor.seats:
                floor = st.login(floor, r.seat, r.agent, r.agent_name, r.login_at, standby=r.standby)
                if r.pause:
                    floor = floor.with_seat(replace(floor.seats[r.seat], pause=r.pause))
        self.floor = floor
        self._recompute()
        self._tasks.spawn(self._reconciler(), "acd-reconciler")
        self._tasks.spawn(self._ticker(), "acd-ticker")
        self._tasks.spawn(self._writer(), "acd-writer")

    async def _writer(self) -> None:
        while True:
            batch = [await self._writes.get()]
            while not self._writes.empty() and len(batch) < 200:
                batch.append(self._writes.get_nowait())
            try:
                await self._write_batch(batch)
            finally:
                for _ in batch:
                    self._writes.task_done()

    async def _write_batch(self, batch: list[Write]) -> None:
        try:
            async with self.sessions() as db, db.begin():
                for write in batch:
                    await write(db)
            return
        except Exception:
            if len(batch) == 1:
                log.exception("ACD database write failed")
                return
        # One bad write must not take the others with it: each on its own.
        for write in batch:
            try:
                async with self.sessions() as db, db.begin():
                    await write(db)
            except Exception:
                log.exception("ACD database write failed")

    def _persist(self, write: Write) -> None:
        self._writes.put_nowait(write)

    async def drain(self) -> None:
        """Wait until every queued write is done (figures read after this)."""
        await self._writes.join()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.drain(), 5)  # what was acknowledged gets stored
        except asyncio.TimeoutError:
            log.error("ACD closed with %d database writes not done", self._writes.qsize())
        await self._tasks.close()

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        self._dirty.set()
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                log.exception("ACD listener failed")

    def note(self, kind: str, seat: str, detail: str, actor: str = "") -> None:
        change = Change(self.clock().isoformat(timespec="seconds"), kind, seat, detail, actor)
        self.changes.append(change)
        log.info("acd %s %s: %s", kind, seat or "-", detail)
        self._persist(lambda db: self._store_change(db, change))

    @staticmethod
    async def _store_change(db: AsyncSession, c: Change) -> None:
        await db.execute(insert(AcdEvent), [{"at": utcnow(), "kind": c.kind, "seat": c.seat,
                                             "actor": c.actor, "detail": c.detail}])

    # -- recompute ---------------------------------------------------------------
    def _recompute(self) -> None:
        """Schedule -> line count -> standby -> who is on a line; notes every change."""
        before_lines, before_on = self.lines, {n for n, s in self.floor.seats.items() if s.on_line}
        name, count = ln.window(self.acd, self.calendar, self.clock())
        lines = ln.follow_schedule(self.lines, name, count)
        now = self.now()
        waits = [now - t for t in self.waiting.values()]
        lines = ln.standby(lines, self.acd, now, waits, ln.staffed_lines(self.floor))
        self.lines = lines
        self.floor = ln.assign(self.floor, lines)
        if (lines.window, lines.target) != (before_lines.window, before_lines.target):
            self.note("lines", "", f"线路数 {before_lines.target} → {lines.target}（时段 {lines.window}"
                       + ("，值班长调整）" if lines.override is not None else "）"))
        if lines.standby_active != before_lines.standby_active:
            self.note("standby", "", ("备班上线：" if lines.standby_active else "备班下线：") + lines.standby_reason)
        after_on = {n for n, s in self.floor.seats.items() if s.on_line}
        for n in sorted(after_on - before_on):
            self.note("line-on", n, f"{self.floor.seats[n].agent_name} 接入话务线路")
        for n in sorted(before_on - after_on):
            self.note("line-off", n, "离开话务线路")
        self._changed()

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
                    self._persist(lambda db, u=uniqueid, d=now - t0: self._store_wrapup(db, u, d))

    @staticmethod
    async def _store_wrapup(db: AsyncSession, uniqueid: str, seconds: float) -> None:
        await db.execute(update(QueueCall).where(QueueCall.uniqueid == uniqueid).values(
            wrapup_s=round(seconds, 1)))

    # -- agent commands ------------------------------------------------------------
    async def login(self, seat: str, agent: str, agent_name: str, standby: bool = False) -> st.Seat:
        floor = st.login(self.floor, seat, agent, agent_name, self.now(), standby)
        s = floor.seats[seat]
        async with self.sessions() as db, db.begin():
            await db.execute(delete(AgentSession).where(AgentSession.seat == seat))
            await db.execute(insert(AgentSession), [{"seat": seat, "agent": agent, "agent_name": agent_name,
                                                     "login_at": s.login_at, "standby": standby, "pause": ""}])
        self.note("login", seat, f"{agent_name} 登录" + ("（备班）" if standby else ""), agent)
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

    async def ready(self, seat: str, actor: str) -> st.Seat:
        floor = st.ready(self.floor, seat, self.now())
        await self._store_pause(seat, "")
        self.note("ready", seat, "就绪", actor)
        self._apply(floor)
        return self.floor.seats[seat]

    def end_wrapup(self, seat: str, actor: str) -> st.Seat:
        self._apply(st.end_wrapup(self.floor, seat, self.now()))
        return self.floor.seats[seat]

    async def _store_pause(self, seat: str, reason: str) -> None:
        async with self.sessions() as db, db.begin():
            await self._write_pause(db, seat, reason)

    @staticmethod
    async def _write_pause(db: AsyncSession, seat: str, reason: str) -> None:
        await db.execute(update(AgentSession).where(AgentSession.seat == seat).values(pause=reason))

    def set_lines(self, count: int | None, actor: str) -> None:
        self.lines = ln.set_override(self.lines, count)
        self.note("lines-override", "", f"值班长将线路数设为 {count}" if count is not None else "恢复按排班", actor)
        self._recompute()

    def set_standby(self, active: bool | None, actor: str) -> None:
        self.lines = replace(self.lines, standby_manual=active)
        self.note("standby-manual", "", {True: "值班长开启备班", False: "值班长关闭备班", None: "备班恢复自动"}[active],
                   actor)
        self._recompute()

    def _on_mirror(self, event: ev.Event | None) -> None:
        self._dirty.set()
        if event is None and self.keeper.mirror.synced:
            self._drop_vanished_calls()

    def _drop_vanished_calls(self) -> None:
        """After a resync: calls the seats were on that Asterisk no longer has
        (it crashed and restarted) ended while no AgentComplete could say so."""
        mirror = self.keeper.mirror
        queue = mirror.queues.get(self.acd.queue)
        now = self.now()
        for seat in list(self.floor.seats.values()):
            if not (seat.talking or seat.ringing):
                continue
            interface = self.settings.seats.interface(seat.name)
            if seat.talking and self._in_call.get(interface, "") in mirror.channels:
                continue
            member = queue.members.get(interface) if queue is not None else None
            if not seat.talking and member is not None and member.status == _DEVICE_RINGING:
                continue
            uniqueid = self._in_call.pop(interface, "")
            self._call_info.pop(interface, None)
            self._apply(st.call_vanished(self.floor, interface, now, self.acd.wrapup_seconds))
            self.note("pbx", seat.name, "交换机重启，通话已中断" if seat.talking else "交换机重启，振铃已中断")
            if uniqueid:
                async def write(db: AsyncSession, uniqueid: str = uniqueid) -> None:
                    await db.execute(update(QueueCall).where(QueueCall.uniqueid == uniqueid, QueueCall.ended_at.is_(None))
                                     .values(ended_at=now))

                self._persist(write)

    # -- queue events ----------------------------------------------------------------
    def _on_called(self, e: ev.AgentCalled) -> None:
        self._apply(st.agent_called(self.floor, e.interface, e.caller_id_num, self.now()))

    def _on_connect(self, e: ev.AgentConnect) -> None:
        now = self.now()
        self._apply(st.agent_connected(self.floor, e.interface, e.caller_id_num, now))
        self.waiting.pop(e.uniqueid, None)
        self._in_call[e.interface] = e.uniqueid
        self._call_info[e.interface] = {"tag": e.var("HOTLINE_TAG"), "category": e.var("HOTLINE_CATEGORY")}
        seat = self.floor.at_interface(e.interface)
        call_id = e.var("HOTLINE_CALLID") or e.linkedid

        async def write(db: AsyncSession) -> None:
            await db.execute(update(QueueCall).where(QueueCall.uniqueid == e.uniqueid).values(
                answered_at=now, hold_s=float(e.hold_time), seat=seat.name if seat else e.member_name))

        self._persist(write)
        self._tasks.spawn(self._queue_log(e, call_id), "acd-queuelog")

    async def _queue_log(self, e: ev.AgentConnect, call_id: str) -> None:
        try:
            # Stamped into queue_log, so Asterisk's own records join to tickets.
            await self.client.action("QueueLog", Queue=e.queue, Event="HOTLINECALL", Uniqueid=e.uniqueid,
                                     Interface=e.interface, Message=call_id)
        except AMIError as exc:
            log.warning("QueueLog for %s failed: %s", call_id, exc)

    def _on_complete(self, e: ev.AgentComplete) -> None:
        now = self.now()
        uniqueid = self._in_call.pop(e.interface, "") or e.uniqueid
        self._call_info.pop(e.interface, None)
        seat = self.floor.at_interface(e.interface)
        if seat is not None and self.acd.wrapup_seconds > 0:
            self._wrapup_started[seat.name] = (uniqueid, now)
        self._apply(st.agent_completed(self.floor, e.interface, now, self.acd.wrapup_seconds))

        async def write(db: AsyncSession) -> None:
            await db.execute(update(QueueCall).where(QueueCall.uniqueid == uniqueid).values(
                ended_at=now, talk_s=float(e.talk_time)))

        self._persist(write)

    def _on_no_answer(self, e: ev.AgentRingNoAnswer) -> None:
        before = self.floor.at_interface(e.interface)
        self._apply(st.ring_no_answer(self.floor, e.interface, self.now(), self.acd.ring_no_answer_limit,
                                      self.acd.no_answer_reason))
        after = self.floor.at_interface(e.interface)
        if before and after and after.pause == self.acd.no_answer_reason and before.pause != after.pause:
            self.note("no-answer", after.name, f"连续 {self.acd.ring_no_answer_limit} 次未接听，已暂停")
            self._persist(lambda db: self._write_pause(db, after.name, after.pause))

    def _on_join(self, e: ev.QueueCallerJoin) -> None:
        now = self.now()
        self.waiting[e.uniqueid] = now
        row = {"uniqueid": e.uniqueid, "call_id": e.var("HOTLINE_CALLID") or e.linkedid, "queue": e.queue,
               "caller": e.caller_id_num, "tag": e.var("HOTLINE_TAG"), "joined_at": now,
               "callback_id": int(e.var("HOTLINE_CB_ID")) if ascii_digits(e.var("HOTLINE_CB_ID")) else None}

        async def write(db: AsyncSession) -> None:
            if await db.get(QueueCall, e.uniqueid) is None:
                await db.execute(insert(QueueCall), [row])

        self._persist(write)
        self._recompute()

    def _on_leave(self, e: ev.QueueCallerLeave) -> None:
        if self.waiting.pop(e.uniqueid, None) is not None:
            self._recompute()

    def _on_abandon(self, e: ev.QueueCallerAbandon) -> None:
        self.waiting.pop(e.uniqueid, None)
        now = self.now()

        async def write(db: AsyncSession) -> None:
            await db.execute(update(QueueCall).where(QueueCall.uniqueid == e.uniqueid).values(
                abandoned=True, ended_at=now, hold_s=float(e.hold_time)))

        self._persist(write)
        self._recompute()

    # -- background ------------------------------------------------------------------
    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.acd.tick_seconds)
            ticked = st.tick(self.floor, self.now())
            self._record_wrapups(self.floor, ticked)
            self.floor = ticked
            self._recompute()

    async def _reconciler(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if not self.client.connected or not self.keeper.mirror.synced:
                continue  # the resync after the next login sets us dirty again
            queue = self.keeper.mirror.queues.get(self.acd.queue)
            have = dict(queue.members) if queue is not None else {}
            for fix in diff(desired(self.floor), have):
                await self._fix(fix)

    async def _fix(self, fix: Fix) -> None:
        q = self.acd.queue
        seat = self.floor.by_interface.get(fix.interface, fix.interface)
        try:
            if fix.kind == "add":
                await self.client.action("QueueAdd", Queue=q, Interface=fix.interface, MemberName=fix.name,
                                         Paused="true" if fix.paused else "false", Reason=fix.reason)
            elif fix.kind == "pause":
                await self.client.action("QueuePause", Queue=q, Interface=fix.interface,
                                         Paused="true" if fix.paused else "false", Reason=fix.reason)
            else:
                await self.client.action("QueueRemove", Queue=q, Interface=fix.interface)
            self.actions_sent += 1
            if self.desynced.pop(seat, None) is not None:
                self.note("repaired", seat, "与交换机状态已一致")
        except AMIActionError as exc:
            if any(word in exc.reason.lower() for word in _CONVERGED):
                return
            if self.desynced.get(seat) != exc.reason:
                self.desynced[seat] = exc.reason
                self.note("desynced", seat, f"无法同步到交换机：{exc.reason}")
                self._changed()
        except AMIError as exc:
            log.warning("ACD %s %s: %s (retried after reconnect)", fix.kind, fix.interface, exc)

    # -- figures -----------------------------------------------------------------------
    async def figures(self) -> dict[str, Any]:
        await self.drain()
        now = self.now()
        async with self.sessions() as db:
            all_rows = (await db.scalars(select(QueueCall).where(
                QueueCall.joined_at >= now - figures.WINDOW_S))).all()
            made = await db.scalar(select(func.count()).select_from(Callback).where(
                Callback.created_at >= now - figures.WINDOW_S, Callback.attempts > 0))
            reached = await db.scalar(select(func.count()).select_from(Callback).where(
                Callback.created_at >= now - figures.WINDOW_S, Callback.status == "reached"))
        # A callback waits in the queue as a placeholder; it is not a call offered.
        rows = [r for r in all_rows if r.callback_id is None]
        callbacks = (made or 0, reached or 0)
        return {
            "window_hours": 24,
            "total": figures.compute(rows, callbacks).as_dict(),
            "by_seat": {k: v.as_dict() for k, v in figures.by(rows, "seat").items()},
            "by_tag": {k: v.as_dict() for k, v in figures.by(rows, "tag").items()},
            "by_queue": {k: v.as_dict() for k, v in figures.by(rows, "queue").items()},
            "hourly": figures.hourly(rows, now),
        }

    # -- views -------------------------------------------------------------------------
    def seat_view(self, s: st.Seat) -> dict[str, Any]:
        return {
            "seat": s.name, "agent": s.agent, "agent_name": s.agent_name, "status": s.status().value,
            "pause_reason": s.queue_pause(), "on_line": s.on_line, "standby": s.standby,
            "since": s.since, "caller": s.caller, "wrapup_until": s.wrapup_until,
            "desynced": self.desynced.get(s.name),
            **self._call_info.get(s.interface, {"tag": "", "category": ""}),
        }

    def floor_view(self) -> dict[str, Any]:
        return {**self.header_view(), "seats": [self.seat_view(s) for s in self.floor.seats.values()],
                "changes": self.recent_changes(50)}

    def recent_changes(self, n: int) -> list[dict[str, Any]]:
        return [asdict(c) for c in list(itertools.islice(reversed(self.changes), n))[::-1]]

    def header_view(self) -> dict[str, Any]:
        """Lines and waiting callers: cheap, for callers who track seats themselves."""
        now = self.now()
        return {
            "lines": {"window": self.lines.window, "scheduled": self.lines.scheduled, "target": self.lines.target,
                      "override": self.lines.override, "standby_active": self.lines.standby_active,
                      "standby_reason": self.lines.standby_reason,
                      "staffed": sum(1 for s in self.floor.seats.values() if s.on_line)},
            "waiting": {"count": len(self.waiting),
                        "longest_s": round(max((now - t for t in self.waiting.values()), default=0.0), 1)},
        }
