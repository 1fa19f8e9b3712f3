"""Queue events into the ACD: each AMI event becomes a pure Floor transition
(seats/state.py) and, where figures need it, a queued database write."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotline.ami import events as ev
from hotline.ami.replies import AMIError
from hotline.db.batch import Row
from hotline.db.engine import insert_ignore
from hotline.db.models import QueueCall
from hotline.numbers import ascii_digits
from hotline.seats import state as st

if TYPE_CHECKING:
    from hotline.acd.reconcile import Reconciler
    from hotline.ami.client import AMIClient
    from hotline.ami.legs import EarlyEnds
    from hotline.ami.resync import MirrorKeeper
    from hotline.config import AcdSettings, Settings
    from hotline.db.batch import WriteQueue
    from hotline.tasks import TaskSet

log = logging.getLogger(__name__)

# app_queue member status (a device state): AST_DEVICE_RINGING.
_DEVICE_RINGING = 6

# A call's figures, written on every queue event: built once (building an ORM
# statement per event cost more than running it; bench/native_twin.py).
_QC = cast(Table, QueueCall.__table__)
_BY_UID = _QC.c.uniqueid == bindparam("b_uid")
_ANSWERED = (
    update(_QC).where(_BY_UID).values(answered_at=bindparam("at"), hold_s=bindparam("hold"), seat=bindparam("seat"))
)
_COMPLETED = update(_QC).where(_BY_UID).values(ended_at=bindparam("at"), talk_s=bindparam("talk"))
_ABANDONED = update(_QC).where(_BY_UID).values(abandoned=True, ended_at=bindparam("at"), hold_s=bindparam("hold"))


class QueueEvents:
    """The AcdService's AMI handlers (a base class: they act on its floor)."""

    if TYPE_CHECKING:  # what AcdService gives them
        settings: Settings
        acd: AcdSettings
        client: AMIClient
        keeper: MirrorKeeper
        reconciler: Reconciler
        writes: WriteQueue
        floor: st.Floor
        waiting: dict[str, float]
        lawyer_waiting: dict[str, float]
        _in_call: dict[str, str]
        _call_info: dict[str, dict[str, str]]
        _legs: dict[str, tuple[str, str, float]]
        _early: EarlyEnds
        _wrapup_started: dict[str, tuple[str, float]]
        _tasks: TaskSet

        def now(self) -> float: ...
        def hold_for_order(self, seat: st.Seat) -> float: ...
        def note(self, kind: str, seat: str, detail: str, actor: str = "", store: bool = True) -> None: ...
        def _apply(self, floor: st.Floor) -> None: ...
        def _recompute(self) -> None: ...
        @staticmethod
        async def _write_pause(db: AsyncConnection, seat: str, reason: str) -> None: ...

    def _on_mirror(self, event: ev.Event | None) -> None:
        # Only the queues' members are compared with the intent: a channel's
        # event (most of them) has nothing to repair.
        if event is None or isinstance(event, ev.MemberFields):
            self.reconciler.poke()
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
            for leg in [leg for leg, (at, *_) in self._legs.items() if at == interface]:
                del self._legs[leg]
            self._apply(st.call_vanished(self.floor, interface, now, self.acd.wrapup_seconds))
            self.note("pbx", seat.name, "交换机重启，通话已中断" if seat.talking else "交换机重启，振铃已中断")
            if uniqueid:

                async def write(db: AsyncConnection, uniqueid: str = uniqueid) -> None:
                    await db.execute(
                        update(QueueCall)
                        .where(QueueCall.uniqueid == uniqueid, QueueCall.ended_at.is_(None))
                        .values(ended_at=now)
                    )

                self.writes.put(write)

    # -- queue events ----------------------------------------------------------------
    def _on_called(self, e: ev.AgentCalled) -> None:
        self._apply(st.agent_called(self.floor, e.interface, e.caller_id_num, self.now()))

    def _on_connect(self, e: ev.AgentConnect) -> None:
        now = self.now()
        self._apply(st.agent_connected(self.floor, e.interface, e.caller_id_num, now))
        self.waiting.pop(e.uniqueid, None)
        self.lawyer_waiting.pop(e.uniqueid, None)
        self._in_call[e.interface] = e.uniqueid
        if e.dest_channel:
            self._legs[e.dest_channel] = (e.interface, e.uniqueid, now)
        self._call_info[e.interface] = {"tag": e.var("HOTLINE_TAG"), "category": e.var("HOTLINE_CATEGORY")}
        seat = self.floor.at_interface(e.interface)
        call_id = e.var("HOTLINE_CALLID") or e.linkedid

        self.writes.put(
            Row(
                _ANSWERED,
                {
                    "b_uid": e.uniqueid,
                    "at": now,
                    "hold": float(e.hold_time),
                    "seat": seat.name if seat else e.member_name,
                },
            )
        )
        self._tasks.spawn(self._queue_log(e, call_id), "acd-queuelog")

    async def _queue_log(self, e: ev.AgentConnect, call_id: str) -> None:
        try:
            # Stamped into queue_log, so Asterisk's own records join to tickets.
            await self.client.action(
                "QueueLog",
                Queue=e.queue,
                Event="HOTLINECALL",
                Uniqueid=e.uniqueid,
                Interface=e.interface,
                Message=call_id,
            )
        except AMIError as exc:
            log.warning("QueueLog for %s failed: %s", call_id, exc)

    def _on_seat_leg_hangup(self, e: ev.Hangup) -> None:
        """The seat's leg of a call hung up (the agent, or the desk for them):
        the seat's call is over now. app_queue says AgentComplete only when
        the caller leaves too, after the survey (Queue option c), and
        meanwhile the seat, unpaused, would be offered the next caller with
        no after-call work."""
        leg = self._legs.pop(e.channel, None)
        if leg is None:
            return
        interface, uniqueid, connected = leg
        if self._in_call.get(interface) != uniqueid:
            return
        self._early.mark(interface, e.channel, uniqueid)
        now = self.now()
        self._complete(interface, now, now - connected)

    def _on_complete(self, e: ev.AgentComplete) -> None:
        if self._early.late(e):
            return  # ended when its seat's leg hung up
        self._legs.pop(e.dest_channel, None)
        self._complete(e.interface, self.now(), float(e.talk_time), e.uniqueid)

    def _complete(self, interface: str, now: float, talk: float, uniqueid: str = "") -> None:
        uniqueid = self._in_call.pop(interface, "") or uniqueid
        self._call_info.pop(interface, None)
        seat = self.floor.at_interface(interface)
        wrapup = self.acd.wrapup_seconds
        if seat is not None and wrapup > 0:
            self._wrapup_started[seat.name] = (uniqueid, now)
        elif seat is not None:
            wrapup = self.hold_for_order(seat)
        self._apply(st.agent_completed(self.floor, interface, now, wrapup))

        self.writes.put(Row(_COMPLETED, {"b_uid": uniqueid, "at": now, "talk": round(talk, 1)}))

    def _on_no_answer(self, e: ev.AgentRingNoAnswer) -> None:
        before = self.floor.at_interface(e.interface)
        self._apply(
            st.ring_no_answer(
                self.floor, e.interface, self.now(), self.acd.ring_no_answer_limit, self.acd.no_answer_reason
            )
        )
        after = self.floor.at_interface(e.interface)
        if before and after and after.pause == self.acd.no_answer_reason and before.pause != after.pause:
            self.note("no-answer", after.name, f"连续 {self.acd.ring_no_answer_limit} 次未接听，已暂停")
            self.writes.put(lambda db: self._write_pause(db, after.name, after.pause))

    def _on_join(self, e: ev.QueueCallerJoin) -> None:
        now = self.now()
        # Lawyers' callers wait for lawyers: they never call the hotline's standby in.
        (self.lawyer_waiting if e.queue == self.acd.lawyer_queue else self.waiting)[e.uniqueid] = now
        row = {
            "uniqueid": e.uniqueid,
            "call_id": e.var("HOTLINE_CALLID") or e.linkedid,
            "queue": e.queue,
            "caller": e.caller_id_num,
            "tag": e.var("HOTLINE_TAG"),
            "joined_at": now,
            "callback_id": int(e.var("HOTLINE_CB_ID")) if ascii_digits(e.var("HOTLINE_CB_ID")) else None,
        }

        # A caller put back in the queue (same uniqueid) keeps its first row.
        self.writes.put(Row(insert_ignore(self.writes.engine, QueueCall, "uniqueid"), row, first=True))
        self._recompute()

    def _on_leave(self, e: ev.QueueCallerLeave) -> None:
        lawyers = self.lawyer_waiting.pop(e.uniqueid, None) is not None
        if self.waiting.pop(e.uniqueid, None) is not None or lawyers:
            self._recompute()

    def _on_abandon(self, e: ev.QueueCallerAbandon) -> None:
        self.waiting.pop(e.uniqueid, None)
        self.lawyer_waiting.pop(e.uniqueid, None)
        now = self.now()

        self.writes.put(Row(_ABANDONED, {"b_uid": e.uniqueid, "at": now, "hold": float(e.hold_time)}))
        self._recompute()
