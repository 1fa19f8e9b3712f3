"""Call controls on the desk: each is a rule (may this agent do it now?)
plus AMI actions on the channels the hand-off recorded.

- hold: the seat's leg is muted both ways (MuteAudio) and hold music is
  whispered to the caller by a ChanSpy leg; AMI has no hold action, and
  pulling the caller out of app_queue's bridge would end the queue call.
- blind transfer: BlindTransfer of the seat's leg; the caller goes on to
  [hotline-outside] and the seat is free.
- three-way: the outside number is dialled into a ChanSpy leg in barge mode
  on the seat's leg: it hears both and both hear it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hotline.accounts import Identity
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.errors import BadRequest, HotlineError
from hotline.tickets.handoff import ActiveCall, Handoff


class NotInCall(HotlineError):
    error_id = "desk-not-in-call"
    status = 409


class RefusedElsewhere(HotlineError):
    """What the controller holding the call refused, with its id and status."""

    def __init__(self, error_id: str, status: int, message: str):
        super().__init__(message)
        self.error_id = error_id
        self.status = status


# In a cluster: asks the controller whose node holds the agent's call
# (who, action, number); None when no controller has it.
Elsewhere = Callable[[Identity, str, str], Awaitable[dict[str, Any] | None]]
HAND_ON = ("transfer", "attended", "conference")


@dataclass(frozen=True, slots=True)
class HandedOn:
    """An agent transferred the caller or brought a third party in."""

    call: ActiveCall
    number: str
    action: str  # transfer | conference
    who: Identity
    note: str  # what the ticket's history says of it


# True: the hook recorded it on the ticket itself (110 pushes an incident).
HandedOnHook = Callable[[HandedOn], Awaitable[bool]]


class CallControls:
    def __init__(self, settings: Settings, client: AMIClient, handoff: Handoff):
        self.settings = settings
        self.client = client
        self.handoff = handoff
        self._handed_on: list[HandedOnHook] = []
        self.elsewhere: Elsewhere | None = None

    async def act(self, who: Identity, action: str, number: str = "") -> dict[str, Any]:
        """One control from the desk: here when this node holds the call,
        else at the controller that does."""
        if self.handoff.call_of(who.username) is None and self.elsewhere is not None:
            answer = await self.elsewhere(who, action, number)
            if answer is None:
                raise NotInCall("当前没有通话")
            if "error_id" in answer:
                raise RefusedElsewhere(str(answer["error_id"]), int(answer["status"]), str(answer["message"]))
            return answer
        return await self.act_here(who, action, number)

    async def act_here(self, who: Identity, action: str, number: str = "") -> dict[str, Any]:
        if action in HAND_ON:
            call = await self.hand_on(who, action, number)
        else:
            act = {
                "hold": self.hold,
                "unhold": self.unhold,
                "hangup": self.hangup,
                "cancel-attended": self.cancel_attended,
            }
            if action not in act:
                raise BadRequest(f"未知的操作 {action}", field="action")
            call = await act[action](who.username)
        return {"action": action, "held": call.held, "ticket": call.ticket}

    def on_handed_on(self, hook: HandedOnHook) -> None:
        """A feature that acts on where a caller was sent (the 110 link)."""
        self._handed_on.append(hook)

    async def hand_on(self, who: Identity, action: str, number: str) -> ActiveCall:
        """The agent sends the caller to `number` (transfer) or brings it into
        the call (conference); the ticket's history says so, or a subscriber
        records it (110 pushes an incident)."""
        agent = who.username
        call = await {"transfer": self.transfer, "attended": self.attended, "conference": self.conference}[action](
            agent, number
        )
        text = {"transfer": "转接", "attended": "咨询转接", "conference": "三方通话"}[action]
        note = f"{text} {self.targets()[number]}（{number}）"
        recorded = await self.handed_on(HandedOn(call, number, action, who, note))
        if call.ticket and not recorded:
            await self.handoff.store.note(call.ticket, who, action, note)
        return call

    async def handed_on(self, event: HandedOn) -> bool:
        """Whether a subscriber recorded it; otherwise the desk notes it."""
        recorded = False
        for hook in self._handed_on:
            recorded = await hook(event) or recorded
        return recorded

    def targets(self) -> dict[str, str]:
        """Numbers an agent may send a caller to: outside lines and departments."""
        out = dict(self.settings.tickets.outside_numbers)
        for d in self.settings.tickets.departments:
            if d.phone:
                out[d.phone] = d.name
        return out

    def _call(self, agent: str) -> ActiveCall:
        call = self.handoff.call_of(agent)
        if call is None or not call.seat_channel:
            raise NotInCall("当前没有通话")
        return call

    def _target(self, number: str) -> str:
        if number not in self.targets():
            raise BadRequest("只能转接到配置的外线号码或部门", field="number")
        return number

    async def hold(self, agent: str) -> ActiveCall:
        call = self._call(agent)
        if call.held:
            return call
        await self.client.action("MuteAudio", Channel=call.seat_channel, Direction="all", State="on")
        await self.client.action(
            "Originate",
            Channel=f"Local/hold-{call.seat}@hotline-hold",
            Application="ChanSpy",
            Data=f"{call.caller_channel},qwE",
            CallerID=f'"保持" <{call.seat}>',
            Async="true",
        )
        call.held = True
        call.holds.append([time.time(), 0.0])  # the quality checks count no silence while the caller hears music
        return call

    async def unhold(self, agent: str) -> ActiveCall:
        call = self._call(agent)
        if not call.held:
            return call
        # Hangup takes a /regex/; "." stands for the slash, which a POSIX regex may not escape.
        await self.client.action("Hangup", Channel=f"/^Local.hold-{call.seat}@hotline-hold-/")
        await self.client.action("MuteAudio", Channel=call.seat_channel, Direction="all", State="off")
        call.held = False
        if call.holds and not call.holds[-1][1]:
            call.holds[-1][1] = time.time()
        return call

    async def hangup(self, agent: str) -> ActiveCall:
        """The agent ends the call from the desk (any phone): the seat's leg
        hangs up, the caller goes on to the survey as when a phone hangs up."""
        call = self._call(agent)
        if call.held:
            await self.unhold(agent)
        await self.client.action("Hangup", Channel=call.seat_channel)
        return call

    async def attended(self, agent: str, number: str) -> ActiveCall:
        """Consult `number` with the caller on hold (咨询转接); the agent
        hanging up completes the transfer, cancel_attended gives the caller back."""
        call = self._call(agent)
        number = self._target(number)
        if call.held:
            await self.unhold(agent)
        await self.client.action("Atxfer", Channel=call.seat_channel, Exten=number, Context="hotline-outside")
        return call

    async def cancel_attended(self, agent: str) -> ActiveCall:
        call = self._call(agent)
        await self.client.action("CancelAtxfer", Channel=call.seat_channel)
        return call

    async def transfer(self, agent: str, number: str) -> ActiveCall:
        call = self._call(agent)
        number = self._target(number)
        if call.held:
            await self.unhold(agent)
        await self.client.action("BlindTransfer", Channel=call.seat_channel, Context="hotline-outside", Exten=number)
        return call

    async def conference(self, agent: str, number: str) -> ActiveCall:
        call = self._call(agent)
        number = self._target(number)
        await self.client.action(
            "Originate",
            Channel=f"Local/{number}@hotline-outside",
            Application="ChanSpy",
            Data=f"{call.seat_channel},qBE",
            CallerID=f'"12345" <{self.settings.hotline_number}>',
            Async="true",
            Timeout=60000,
        )
        return call
