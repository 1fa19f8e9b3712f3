"""Hand-off of answered calls: AgentConnect opens the ticket and pops it up.

The ACD's own handler runs first (it was registered first), so by the time
this one runs the floor already shows the seat talking. The database work
runs in a tracked task, never in the AMI dispatcher. After-call work ends
when the ticket is submitted (or the ACD's wrap-up timer runs out). A call
ends for its seat when the seat's leg hangs up (AgentComplete comes only
when the caller is done with the survey too).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from hotline.acd.service import AcdService
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.legs import EarlyEnds
from hotline.numbers import ascii_digits
from hotline.tasks import TaskSet
from hotline.tickets import workflow as wf
from hotline.tickets.desk import DeskHub
from hotline.tickets.read_models import NO_CONTEXT
from hotline.tickets.store import TicketStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ActiveCall:
    seat: str
    agent: str
    call_id: str
    uniqueid: str
    caller_channel: str
    seat_channel: str  # the member's leg in the bridge (DestChannel)
    caller: str
    ticket: str = ""
    held: bool = False
    answered_at: float = field(default_factory=time.time)  # wall clock: the recording starts here
    holds: list[list[float]] = field(default_factory=list)  # [start, end] on the wall clock; end 0 while held


class Handoff:
    def __init__(self, client: AMIClient, acd: AcdService, store: TicketStore, hub: DeskHub):
        self.client = client
        self.acd = acd
        self.store = store
        self.hub = hub
        self.active: dict[str, ActiveCall] = {}  # seat -> call in progress
        # seat -> its last call that ended when the seat's leg hung up (its
        # caller may still be on the line, in the survey: tickets/phone_lost.py)
        self.cut: dict[str, ActiveCall] = {}
        self.submitted: set[str] = set()  # tickets submitted while their call still runs
        self.pop_seconds: deque[float] = deque(maxlen=10_000)  # event in -> pop queued
        self.surveys = 0
        self._ended: list[Callable[[ActiveCall], None]] = []
        self._legs: dict[str, tuple[str, str]] = {}  # a seat's leg in a call -> the seat, its interface
        self._early = EarlyEnds()  # calls that ended when the seat's leg hung up
        self._tasks = TaskSet("hand-off")
        client.on(ev.AgentConnect, self._on_connect)
        client.on(ev.AgentComplete, self._on_complete)
        client.on(ev.Hangup, self._on_hangup)
        client.on(ev.HotlineSurvey, self._on_survey)

    async def close(self) -> None:
        # Tickets being opened are let finish: their calls were answered.
        await self._tasks.close(grace=5)

    def on_ended(self, listener: Callable[[ActiveCall], None]) -> None:
        """listener(call) when a seat's call ends (the quality checks read its recording)."""
        self._ended.append(listener)

    # -- events ----------------------------------------------------------------------
    def _on_connect(self, e: ev.AgentConnect) -> None:
        t0 = time.monotonic()
        seat = self.acd.seat_at(e.interface)
        if seat is None or not seat.agent:
            log.warning("AgentConnect on %s, which no logged-in seat owns: no ticket", e.interface)
            return
        if e.channel.startswith("Local/cb"):
            caller = e.connected_line_num or e.caller_id_num  # a callback placeholder
        else:
            caller = e.caller_id_num
        call = ActiveCall(
            seat=seat.name,
            agent=seat.agent,
            call_id=e.var("HOTLINE_CALLID") or e.linkedid,
            uniqueid=e.uniqueid,
            caller_channel=e.channel,
            seat_channel=e.dest_channel,
            caller=caller,
        )
        self.active[seat.name] = call
        self._legs[e.dest_channel] = (seat.name, e.interface)
        self._tasks.spawn(self._open(e, call, t0), f"ticket-open-{call.call_id}")

    async def _open(self, e: ev.AgentConnect, call: ActiveCall, t0: float) -> None:
        """Two frames: the pop (caller, IVR path, history; reads only, so it
        never queues behind database writers), then the ticket once committed."""
        try:
            ctx = await self.store.caller_context(call.call_id, call.caller)
        except Exception:
            log.exception("caller context of call %s", call.call_id)
            ctx = NO_CONTEXT
        self.hub.push(
            call.agent,
            {
                "type": "pop",
                "seat": call.seat,
                "call_id": call.call_id,
                "caller": call.caller,
                "tag": e.var("HOTLINE_TAG") or ctx.ivr_tag,
                "wait_s": e.hold_time,
                "ivr_path": ctx.ivr_path,
                "history": ctx.history,
                "repeat": ctx.repeat,
            },
        )
        self.pop_seconds.append(time.monotonic() - t0)
        try:
            opened = await self.store.open_for_call(
                call_id=call.call_id,
                uniqueid=call.uniqueid,
                caller=call.caller,
                caller_name=e.caller_id_name if e.caller_id_name != call.caller else "",
                tag=e.var("HOTLINE_TAG"),
                seat=call.seat,
                agent=call.agent,
                wait_s=float(e.hold_time),
                context=ctx,
            )
        except Exception:
            log.exception("could not open the ticket of call %s", call.call_id)
            self.hub.push(
                call.agent,
                {
                    "type": "pop-failed",
                    "call_id": call.call_id,
                    "caller": call.caller,
                    "message": "工单创建失败，请手工记录来电并报告值班长",
                },
            )
            return
        call.ticket = opened.ticket.number
        self.hub.push(call.agent, {"type": "ticket", "seat": call.seat, "wait_s": e.hold_time, **opened.as_dict()})

    def _on_hangup(self, e: ev.Hangup) -> None:
        """The seat's leg hung up: the call is over for the seat (the caller
        may stay for the survey; app_queue's AgentComplete waits for them)."""
        leg = self._legs.pop(e.channel, None)
        if leg is None:
            return
        seat, interface = leg
        call = self.active.get(seat)
        if call is None or call.seat_channel != e.channel:
            return
        self._early.mark(interface, e.channel, call.uniqueid)
        self.cut[seat] = call
        self._ended_call(seat, "agent")

    def _on_complete(self, e: ev.AgentComplete) -> None:
        if self._early.late(e):
            return  # ended when its seat's leg hung up
        self._legs.pop(e.dest_channel, None)
        seat = self.acd.seat_at(e.interface)
        if seat is not None:
            self._ended_call(seat.name, e.reason)

    def _ended_call(self, seat: str, reason: str) -> None:
        call = self.active.pop(seat, None)
        if call is None:
            return
        self.hub.push(call.agent, {"type": "call-ended", "ticket": call.ticket, "reason": reason})
        for listener in self._ended:
            listener(call)
        if call.ticket and call.ticket in self.submitted:
            self.submitted.discard(call.ticket)
            self.acd.end_wrapup(seat, "ticket")

    def _on_survey(self, e: ev.HotlineSurvey) -> None:
        call_id, score = e.call_id, e.score
        if not call_id or not ascii_digits(score) or int(score) not in wf.SATISFACTION:
            log.warning("survey event with call %r and score %r ignored", call_id, score)
            return
        self.surveys += 1
        self._tasks.spawn(self._survey(call_id, int(score)), f"survey-{call_id}")

    async def _survey(self, call_id: str, score: int) -> None:
        number = await self.store.set_satisfaction(call_id, score)
        log.info("survey of call %s: %s (ticket %s)", call_id, wf.SATISFACTION[score], number or "none")

    # -- the desk -------------------------------------------------------------------------
    def ticket_submitted(self, number: str, agent: str) -> None:
        """A submitted ticket ends after-call work, now or when its call ends."""
        seat = self.acd.seat_of_agent(agent)
        if seat is None:
            return
        call = self.active.get(seat.name)
        if call is not None and call.ticket == number:
            self.submitted.add(number)
        elif seat.wrapup_until is not None:
            self.acd.end_wrapup(seat.name, agent)

    def calls(self) -> list[ActiveCall]:
        """The calls seats are on now."""
        return list(self.active.values())

    def call_of(self, agent: str) -> ActiveCall | None:
        seat = self.acd.seat_of_agent(agent)
        return self.active.get(seat.name) if seat is not None else None
