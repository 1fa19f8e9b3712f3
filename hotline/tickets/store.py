"""The ticket store: the hand-off of calls, tickets taken in from the other
channels, notes and the survey; the desk's writes (desk_writes.py), the
workflow after it (actions.py) and the write primitives (core.py) are its
bases; reads in reads.py, access rules in access.py, views in views.py, the
form in form.py, the knowledge base in kb.py. Features that react to a
ticket's change subscribe to `moves` (moves.py): the store knows nothing of
work items, messages to citizens, 110, grid stations or car moving.

Every method is one short transaction and returns plain dicts; a caller that
got an answer may rely on it being on disk (SQLite: WAL + synchronous=FULL;
PostgreSQL: a committed transaction).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts import Identity
from hotline.config import Settings
from hotline.db.batch import WriteQueue
from hotline.db.models import Call, Ticket, TicketCall, TicketEvent
from hotline.errors import BadRequest
from hotline.numbers import ascii_digits
from hotline.tickets import history
from hotline.tickets import workflow as wf
from hotline.tickets.access import NotYourTicket, TicketNotFound
from hotline.tickets.actions import WorkflowActions
from hotline.tickets.categories import CategoryTree
from hotline.tickets.desk_writes import DeskWrites
from hotline.tickets.duplicates import Candidate
from hotline.tickets.form import flag
from hotline.tickets.kb import KnowledgeBase
from hotline.tickets.moves import Moves, TicketMove
from hotline.tickets.read_models import CallerContext, OpenedTicket, TicketView
from hotline.tickets.views import CHANNELS, TicketViews

__all__ = ["TicketStore", "TicketNotFound", "NotYourTicket", "CHANNELS"]


class TicketStore(DeskWrites, WorkflowActions):
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker,
        clock: Callable[[], dt.datetime],
        writes: WriteQueue | None = None,
    ):
        self.settings = settings
        # The IVR queues a call's row as the caller leaves it; a seat may
        # answer before that batch is committed (bench/screen_pop.py).
        self.writes = writes
        self.cfg = settings.tickets
        self.sessions = sessions
        self.clock = clock
        self.tree = CategoryTree(settings.tickets)
        self.tz = zoneinfo.ZoneInfo(settings.ivr.timezone)
        self.views = TicketViews(self.tree)
        self.kb = KnowledgeBase(sessions, clock, self.views.category_label)
        # Features that react to ticket changes register here at wiring time.
        self.moves = Moves()

    # -- hand-off of an answered call --------------------------------------------------
    async def caller_context(self, call_id: str, caller: str) -> CallerContext:
        """What the screen pop shows before the ticket exists: the IVR path and
        the caller's earlier tickets. Reads only, so it never waits for a writer
        (only for this call's own row, when it is still queued)."""
        if self.writes is not None:
            await self.writes.settled(call_id)
        async with self.sessions() as db:
            call = await db.get(Call, call_id)
            history = await self._history(db, caller, 0) if caller else []
        since = self.clock() - dt.timedelta(days=self.cfg.repeat_days)
        return CallerContext(
            tuple(call.ivr_path) if call else (),
            call.category if call else "",
            call.tag if call else "",
            tuple(history),
            any(h.created_at >= since for h in history),
        )

    async def open_for_call(
        self,
        *,
        call_id: str,
        uniqueid: str,
        caller: str,
        caller_name: str,
        tag: str,
        seat: str,
        agent: str,
        wait_s: float,
        context: CallerContext | None = None,
    ) -> OpenedTicket:
        """The ticket a seat's answer opens (or joins, when the call already has
        one), with the caller context of the screen pop."""
        ctx = context if context is not None else await self.caller_context(call_id, caller)
        now = self.clock()
        async with self.tx() as db:
            ticket = await db.scalar(
                select(Ticket)
                .join(TicketCall, TicketCall.ticket_id == Ticket.id)
                .where(TicketCall.call_id == call_id)
                .limit(1)
            )
            if ticket is None:
                ticket = Ticket(
                    number=await self._next_number(db, now),
                    status=wf.Status.ACCEPTED.value,
                    channel="phone",
                    caller=caller,
                    caller_name=caller_name,
                    call_id=call_id,
                    tag=tag or ctx.ivr_tag,
                    ivr_path=list(ctx.ivr_path),
                    agent=agent,
                    seat=seat,
                    wait_s=wait_s,
                    created_at=now,
                    updated_at=now,
                    category=self._category_from_ivr(ctx.ivr_category),
                )
                db.add(ticket)
                await db.flush()
                db.add(
                    TicketEvent(
                        ticket_id=ticket.id,
                        at=now,
                        actor=agent,
                        action="accept",
                        from_status="",
                        to_status=ticket.status,
                        note=f"{seat} 接听来电",
                    )
                )
            db.add(
                TicketCall(
                    ticket_id=ticket.id,
                    call_id=call_id,
                    uniqueid=uniqueid,
                    seat=seat,
                    agent=agent,
                    answered_at=now,
                    recording=f"{call_id}.wav",
                )
            )
        history = tuple(h for h in ctx.history if h.number != ticket.number)
        return OpenedTicket(self.views.row(ticket), history, ctx.repeat and bool(history))

    def _category_from_ivr(self, name: str) -> str:
        """The IVR menu may already have asked what the call is about."""
        for node in self.tree.nodes.values():
            if name and name in (node.code, node.name):
                return node.code
        return ""

    async def create(self, channel: str, actor: str, body: dict[str, Any], query_code_hash: str = "") -> TicketView:
        """A ticket from a gateway (web, WeChat, SMS, app, 110) or the public
        page: already described, offered to an agent off the lines."""
        found = await self.suspects(body)
        async with self.tx() as db:
            ticket = await self.insert(db, channel, actor, body, query_code_hash=query_code_hash, suspects=found)
        return self.views.row(ticket)

    async def insert(
        self,
        db: AsyncSession,
        channel: str,
        actor: str,
        body: dict[str, Any],
        *,
        query_code_hash: str = "",
        offer: bool = True,
        call_id: str | None = None,
        classified: bool = True,
        suspects: Sequence[Candidate] = (),
        external_ref: str = "",
        caller_name: str = "",
        note: str = "",
    ) -> Ticket:
        """create() inside a caller's transaction. offer=False: the actor
        works it now (a voice message they answered), no intake item.
        classified=False: a citizen wrote it, the agent picks the category.
        suspects: what suspects() found before the transaction."""
        if channel not in CHANNELS or channel == "phone":
            raise BadRequest(f"未知渠道 {channel}", field="channel")
        form = self._read_form(body, require_content=True, require_category=classified)
        caller = body.get("caller", "")
        if type(caller) is not str:
            raise BadRequest("caller 必须是数字字符串", field="caller")
        if caller and (not ascii_digits(caller) or len(caller) > 20):
            raise BadRequest("caller 必须是 1-20 位数字", field="caller")
        now = self.clock()
        ticket = Ticket(
            number=await self._next_number(db, now),
            status=wf.Status.ACCEPTED.value,
            channel=channel,
            caller=caller,
            agent=actor,
            created_at=now,
            updated_at=now,
            confidential=flag(body, "confidential", False),
            ivr_path=[],
            call_id=call_id,
            query_code_hash=query_code_hash,
            external_ref=external_ref,
            **{k: v for k, v in form.items() if k != "handling"},
        )
        if caller_name:
            ticket.caller_name = caller_name
        db.add(ticket)
        await db.flush()
        db.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=now,
                actor=actor,
                action="accept",
                from_status="",
                to_status=ticket.status,
                note=note or f"{CHANNELS[channel]}渠道",
            )
        )
        # Taken in: nothing to say but that it arrived (no note, no unit yet).
        await self.moves.publish(
            TicketMove(
                db, ticket, "accept", "", "", actor, now, self.label(ticket), offer=offer, suspects=tuple(suspects)
            )
        )
        return ticket

    async def assign(self, db: AsyncSession, ticket_id: int, agent: str) -> None:
        """An agent accepted the work on a ticket taken in elsewhere: theirs now."""
        await db.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.status == wf.Status.ACCEPTED.value).values(agent=agent)
        )

    async def note(self, number: str, who: Identity, action: str, note: str) -> None:
        """Something done on the call (transfer, three-way) kept in the history."""
        async with self.tx() as db:
            t = await self._get(db, number)
            history.record(db, t, actor=who.username, action=action, note=note, at=self.clock())

    async def hold(self, number: str, who: Identity, on: bool, note: str) -> bool:
        """A legal hold (法律保全) on or off: while on, the retention run keeps
        everything of the ticket. Returns whether it changed."""
        async with self.tx() as db:
            t = await self._get(db, number)
            if t.legal_hold == on:
                return False
            t.legal_hold = on
            text = note or ("保全期间保留全部资料" if on else "按保存期限处理")
            history.record(
                db, t, actor=who.username, action="legal-hold" if on else "hold-released", note=text, at=self.clock()
            )
            return True

    async def chase(self, number: str, who: Identity) -> str:
        """The lead reminds the agent of a ticket left unsubmitted; returns the agent."""
        async with self.tx() as db:
            t = await self._get(db, number)
            if t.status != wf.Status.ACCEPTED.value:
                raise wf.TransitionRefused("工单已提交，无需催办", status=t.status)
            history.record(
                db, t, actor=who.username, action="chase", note=f"{who.display_name} 催办：请尽快提交", at=self.clock()
            )
            return t.agent

    async def set_satisfaction(self, call_id: str, score: int) -> str | None:
        """The caller's key from the post-call survey; returns the ticket number."""
        async with self.tx() as db:
            await db.execute(update(Call).where(Call.call_id == call_id).values(survey=score))
            t = await db.scalar(
                select(Ticket)
                .join(TicketCall, TicketCall.ticket_id == Ticket.id)
                .where(TicketCall.call_id == call_id)
                .order_by(Ticket.id.desc())
                .limit(1)
            )
            if t is None:
                return None
            t.satisfaction, t.satisfaction_source = score, "survey"
            history.record(db, t, actor="survey", action="survey", note=wf.SATISFACTION[score], at=self.clock())
            return t.number
