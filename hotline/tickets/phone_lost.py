"""A caller is never left with a browser phone that went away mid-call.

When a seat's browser phone disappears (tab closed, browser crashed, network
lost), its seat is paused at once (seats/app.py). A caller it was talking to
gets `grace_seconds` for the phone to come back: a network blip heals the
websocket in a second or two while the media, which does not pass through
it, may still be flowing. If it is not back by then, the caller is put back
into the queue at its front (position 1), so the next free agent takes them
before anyone who was waiting behind them.

Chosen over holding the caller for the same agent: a closed tab cannot take
its call back (the WebRTC session, its keys and dialog died with the page),
and a browser that crashed may take minutes to return, while the front of the
queue reaches the next free agent in the time a ring takes."""

from __future__ import annotations

import asyncio
import logging

from hotline.acd.service import AcdService
from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError
from hotline.seats.webphone import PhoneGone, WebPhones
from hotline.tasks import TaskSet
from hotline.tickets.handoff import ActiveCall, Handoff

log = logging.getLogger(__name__)
REQUEUE_CONTEXT = "hotline-requeue"


class PhoneLost:
    def __init__(self, client: AMIClient, acd: AcdService, handoff: Handoff, phones: WebPhones, grace: float):
        self.client = client
        self.acd = acd
        self.handoff = handoff
        self.phones = phones
        self.grace = grace
        self.requeued = 0
        self._tasks = TaskSet("phone-lost")
        phones.subscribe(self._on_gone)

    async def close(self) -> None:
        await self._tasks.close()

    def _on_gone(self, e: PhoneGone) -> None:
        call = self.handoff.active.get(e.seat)
        if call is not None and call.agent == e.agent:
            self._tasks.spawn(self._requeue(e, call), f"phone-lost-{e.seat}")

    async def _requeue(self, e: PhoneGone, call: ActiveCall) -> None:
        await asyncio.sleep(self.grace)
        live = self.handoff.active.get(e.seat)
        if live is not None and live.uniqueid == call.uniqueid:
            if self.phones.reachable(e.seat):
                return  # the phone is back within the grace (at any controller): the call goes on
        else:
            cut = self.handoff.cut.get(e.seat)
            if cut is None or cut.uniqueid != call.uniqueid:
                return  # the call ended meanwhile (the caller hung up, or a new call began)
            # The phone's leg is gone and the caller waits in the survey: back to the queue.
        try:
            await self.client.action(
                "Redirect", Channel=call.caller_channel, Context=REQUEUE_CONTEXT, Exten="s", Priority="1"
            )
        except AMIError as exc:
            log.error("browser phone of %s lost mid-call; could not requeue %s: %s", e.seat, call.caller_channel, exc)
            return
        self.requeued += 1
        self.acd.note("requeue", e.seat, f"网页电话断开，市民 {call.caller} 已转回队首")
