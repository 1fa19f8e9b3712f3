"""Automated revisit calls (自动回访): the PBX dials the citizen of a ticket
the department has answered and asks one question; the key closes the
ticket (1, satisfied) or sends it back to the department (2)."""

from __future__ import annotations

import logging
from typing import Any

from hotline.accounts import Identity
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.errors import BadRequest
from hotline.numbers import ascii_digits
from hotline.roles import Role
from hotline.tasks import TaskSet
from hotline.tickets import workflow as wf
from hotline.tickets.store import TicketStore

log = logging.getLogger(__name__)

# The revisit call acts as the system; the history names it.
SYSTEM = Identity(0, "auto-revisit", "自动回访", frozenset({Role.ADMIN}))
PROMPTS = {
    "revisit-ask": "您好，这里是12345市民服务热线。您反映的问题，承办部门已经答复。满意请按1，不满意请按2。",
    "revisit-thanks": "感谢您的配合，再见。",
}


class RevisitCalls:
    def __init__(self, settings: Settings, client: AMIClient, store: TicketStore):
        self.settings = settings
        self.client = client
        self.store = store
        self._tasks = TaskSet("revisit")
        client.on(ev.HotlineRevisit, self._on_revisit)

    async def place(self, number: str, who: Identity) -> dict[str, Any]:
        ticket = (await self.store.get(number, who)).ticket
        wf.transition(ticket.status, "revisit", who.roles)  # refused unless the department has answered
        caller = ticket.caller if not ticket.masked else ""
        if not ascii_digits(caller):
            raise BadRequest("该工单没有可回拨的市民号码", field="caller")
        await self.client.action(
            "Originate",
            Channel=f"Local/{caller}@hotline-outside",
            Context="hotline-revisit",
            Exten="s",
            Priority="1",
            Variable=f"HOTLINE_TICKET={number}",
            CallerID=f'"12345" <{self.settings.hotline_number}>',
            Async="true",
            Timeout=45000,
        )
        await self.store.note(number, who, "revisit-call", "已发起自动回访电话")
        return {"ticket": number, "calling": True}

    def _on_revisit(self, e: ev.HotlineRevisit) -> None:
        number, answer = e.ticket, e.answer
        self._tasks.spawn(self._answered(number, answer), f"revisit-{number}")

    async def _answered(self, number: str, answer: str) -> None:
        try:
            if answer == "1":
                await self.store.act(number, "revisit", SYSTEM, {"satisfied": True, "note": "自动回访：市民满意"})
            elif answer == "2":
                await self.store.act(number, "revisit", SYSTEM, {"satisfied": False, "note": "自动回访：市民不满意"})
            else:
                await self.store.note(number, SYSTEM, "revisit-call", "自动回访：市民未按键，请人工回访")
        except Exception:
            log.exception("revisit answer %r for ticket %s not recorded", answer, number)

    async def close(self) -> None:
        await self._tasks.close(grace=5)
