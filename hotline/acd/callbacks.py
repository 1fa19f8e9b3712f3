"""Callbacks (回拨) that keep the caller's place, and one for every missed call.

A callback is a placeholder in the queue: a Local channel whose ;2 half
queues in the citizen's place (app_queue's position argument) with the
citizen's number as caller ID, so the seat sees who it will call. When a seat
answers the placeholder, its ;1 half rings the citizen with the hotline's
number and reports the outcome in a UserEvent. A seat is thus always on the
line before the citizen's phone rings, and no more callbacks are being dialled
than there are seats free to take them: a placeholder rings the citizen only
once a seat has picked it up. Missed-call callbacks are let into the queue
only while lines are free, so they never push in front of live callers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.acd import lines as ln
from hotline.acd.service import AcdService
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.fastagi import AGISession
from hotline.ami.replies import AMIError
from hotline.config import Settings
from hotline.db.models import Callback
from hotline.numbers import ascii_digits, mask_number
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallbackGaveUp:
    """The automatic attempts are spent; hooks run in the transaction recording it."""

    db: AsyncSession
    callback_id: int
    number: str
    attempts: int
    at: dt.datetime


class CallbackService:
    def __init__(
        self,
        settings: Settings,
        client: AMIClient,
        acd: AcdService,
        sessions: async_sessionmaker,
        clock: Callable[[], dt.datetime],
        prompts_pbx_dir: str,
    ):
        self.settings = settings
        self.client = client
        self.acd = acd
        self.sessions = sessions
        self.clock = clock
        self.prompts = prompts_pbx_dir.rstrip("/")
        self._on_gave_up: list[Callable[[CallbackGaveUp], Awaitable[None]]] = []
        self.in_queue: set[int] = set()  # placeholders waiting or connected
        self._lock = asyncio.Lock()
        self.dispatch_errors = 0
        self.rounds = 0  # dispatch rounds done: each looked for a free line
        # Handlers decide at once and leave the database work to tasks: the
        # AMI dispatcher never waits on a commit.
        self._tasks = TaskSet("callbacks")
        # Outcomes are settled one at a time, in the order their events came
        # (a placeholder's hangup and the dial's result race on the wire).
        self._outcomes = asyncio.Lock()
        client.on(ev.QueueCallerAbandon, self._on_abandon)
        client.on(ev.HotlineCallback, self._on_callback_ended)
        client.on(ev.Hangup, self._on_hangup)

    def on_gave_up(self, hook: Callable[[CallbackGaveUp], Awaitable[None]]) -> None:
        self._on_gave_up.append(hook)

    def start(self) -> None:
        self._tasks.spawn(self.run(), name="callback-dispatch")

    async def close(self) -> None:
        await self._tasks.close()

    def now(self) -> float:
        return self.clock().timestamp()

    # -- booking in the queue ---------------------------------------------------------
    async def book(self, session: AGISession) -> None:
        """FastAGI route 'callback': the caller pressed 1 while waiting."""
        # The number to ring is the one the PBX has on the live channel (the
        # guard found it), not what the session's headers claim.
        number = session.live.caller_num if session.live is not None else session.env.get("agi_callerid", "")
        if not ascii_digits(number):
            return  # no number to call back: the dialplan puts the caller back in the queue
        position = int(session.arg(2)) if ascii_digits(session.arg(2)) else 0
        now = self.now()
        async with self.sessions() as db, db.begin():
            result = await db.execute(
                insert(Callback).returning(Callback.id),
                [
                    {
                        "kind": "keep-place",
                        "number": number,
                        "call_id": session.arg(1),
                        "position": position,
                        # Claimed by this controller at once: its place is in this node's queue.
                        "status": "queued",
                        "attempts": 1,
                        "created_at": now,
                        "due_at": now,
                    }
                ],
            )
            cb_id = result.scalar_one()
        # Into the queue before the caller hangs up: the place is never empty.
        await self._place(cb_id, number, position)
        await session.play(f"{self.prompts}/queue-callback-booked")
        await session.set_variable("HOTLINE_ROUTE", "callback")
        self.acd.note("callback", "", f"{mask_number(number)} 登记回拨，保留第 {position} 位")

    async def _claim(self, cb_id: int) -> bool:
        """Take a pending callback for this node's queue; False when another
        controller took it first (each citizen is called once per attempt)."""
        async with self.sessions() as db, db.begin():
            res = await db.execute(
                update(Callback)
                .where(Callback.id == cb_id, Callback.status == "pending")
                .values(status="queued", attempts=Callback.attempts + 1)
            )
        return res.rowcount == 1

    async def _place(self, cb_id: int, number: str, position: int) -> None:
        """The placeholder of a callback this controller claimed."""
        try:
            await self.client.action(
                "Originate",
                Channel=f"Local/cb{cb_id}@hotline-callback",
                Context="hotline-callback-dial",
                Exten=number,
                Priority=1,
                CallerID=f"<{number}>",
                Async="true",
                Timeout=4 * 3600 * 1000,
                Variable=[f"__HOTLINE_CB_ID={cb_id}", f"HOTLINE_CB_POSITION={position}", f"__HOTLINE_CALLID=cb{cb_id}"],
            )
        except AMIError as exc:
            log.warning("callback %s could not be queued: %s", cb_id, exc)
            await self._set(cb_id, status="pending", due_at=self.now() + 5, attempts=Callback.attempts - 1)
            return
        self.in_queue.add(cb_id)

    # -- missed calls ----------------------------------------------------------------
    def _on_abandon(self, e: ev.QueueCallerAbandon) -> None:
        if e.var("HOTLINE_CB_ID") or e.hold_time < self.settings.acd.callback_abandon_seconds:
            return
        if ascii_digits(e.caller_id_num):
            self._tasks.spawn(self._missed(e), name="callback-missed")

    async def _missed(self, e: ev.QueueCallerAbandon) -> None:
        number = e.caller_id_num
        now = self.now()
        async with self.sessions() as db, db.begin():
            await db.execute(
                insert(Callback),
                [
                    {
                        "kind": "missed",
                        "number": number,
                        "call_id": e.var("HOTLINE_CALLID") or e.linkedid,
                        "position": 0,
                        "status": "pending",
                        "created_at": now,
                        "due_at": now,
                    }
                ],
            )
        self.acd.note("callback", "", f"{mask_number(number)} 等待 {e.hold_time} 秒后挂断，已生成漏接回拨任务")

    async def dispatch(self) -> None:
        """Let due callbacks into the queue while lines are free for them."""
        async with self._lock:
            self.rounds += 1
            # Callers already waiting (placeholders among them) go first.
            room = ln.free_seats(self.acd.floor) - len(self.acd.waiting)
            if room <= 0:
                return
            async with self.sessions() as db:
                due = (
                    await db.scalars(
                        select(Callback)
                        .where(Callback.status == "pending", Callback.due_at <= self.now())
                        .order_by(Callback.due_at, Callback.id)
                        .limit(room)
                    )
                ).all()
            for cb in due:
                if await self._claim(cb.id):
                    await self._place(cb.id, cb.number, 0)

    # -- outcomes --------------------------------------------------------------------
    def _on_callback_ended(self, e: ev.HotlineCallback) -> None:
        if not ascii_digits(e.callback_id):
            return
        cb_id = int(e.callback_id)
        self.in_queue.discard(cb_id)
        self._tasks.spawn(
            self._outcome(cb_id, "reached" if e.status == "ANSWER" else "failed", e.status), name=f"callback-{cb_id}"
        )

    def _on_hangup(self, e: ev.Hangup) -> None:
        # A placeholder that left the queue without a seat ever answering it.
        if not e.channel.startswith("Local/cb") or not e.channel.endswith(";2"):
            return
        try:
            cb_id = int(e.channel[len("Local/cb") :].split("@", 1)[0])
        except ValueError:
            return
        if cb_id in self.in_queue:
            self.in_queue.discard(cb_id)
            self._tasks.spawn(self._outcome(cb_id, "failed", "NOSEAT"), name=f"callback-{cb_id}")

    async def _outcome(self, cb_id: int, result: str, detail: str) -> None:
        async with self._outcomes:
            await self._settle(cb_id, result, detail)

    async def _settle(self, cb_id: int, result: str, detail: str) -> None:
        async with self.sessions() as db:
            cb = await db.get(Callback, cb_id)
        if cb is None or cb.status in ("reached", "failed"):
            return
        if result == "reached":
            await self._set(cb_id, status="reached", last_result=detail, done_at=self.now())
            self.acd.note("callback", "", f"回拨 {mask_number(cb.number)} 已接通")
        elif cb.attempts < self.settings.acd.callback_attempts:
            await self._set(
                cb_id,
                status="pending",
                last_result=detail,
                due_at=self.now() + self.settings.acd.callback_retry_seconds,
            )
            self.acd.note("callback", "", f"回拨 {mask_number(cb.number)} 未接通（{detail}），稍后重试")
        else:
            # Whoever tries once more by hand (the work queue: an agent off
            # the lines) is told in the failure's transaction: neither without the other.
            async with self.sessions() as db, db.begin():
                await db.execute(
                    update(Callback)
                    .where(Callback.id == cb_id)
                    .values(status="failed", last_result=detail, done_at=self.now())
                )
                for hook in self._on_gave_up:
                    await hook(CallbackGaveUp(db, cb_id, cb.number, cb.attempts, self.clock()))
            self.acd.note("callback", "", f"回拨 {mask_number(cb.number)} 多次未接通，转人工回拨")

    async def _set(self, cb_id: int, **values: Any) -> None:
        async with self.sessions() as db, db.begin():
            await db.execute(update(Callback).where(Callback.id == cb_id).values(**values))

    async def run(self) -> None:
        """Dispatch due callbacks every tick until cancelled; no error ends it
        (a database hiccup once ended callback dispatch silently)."""
        while True:
            await asyncio.sleep(self.settings.acd.tick_seconds)
            try:
                await self.dispatch()
            except AMIError as exc:
                log.warning("callback dispatch: %s", exc)
            except Exception:
                self.dispatch_errors += 1
                log.exception("callback dispatch failed; retrying next tick")

    # -- views -----------------------------------------------------------------------
    async def list(self, limit: int = 100) -> list[dict[str, Any]]:
        async with self.sessions() as db:
            rows = (await db.scalars(select(Callback).order_by(Callback.id.desc()).limit(limit))).all()
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "number": mask_number(r.number),
                "status": r.status,
                "attempts": r.attempts,
                "last_result": r.last_result,
                "position": r.position,
                "created_at": r.created_at,
            }
            for r in rows
        ]
