"""Reading tickets: one, a list, the supervision ledger (督办台账), counts.
Every read goes through the access rules and the one view shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts import Identity
from hotline.db.models import OutboxMessage, PoliceLink, Ticket, TicketCall, TicketDraft, TicketEvent, TicketPhoto, User
from hotline.numbers import mask_number
from hotline.tickets import workflow as wf
from hotline.tickets.access import PRIVILEGED, TicketNotFound, department_only, may_read
from hotline.tickets.categories import CategoryTree
from hotline.tickets.read_models import OverdueView, PastTicket, TicketDetail, TicketView, Unsubmitted
from hotline.tickets.views import TicketViews


class TicketReads:
    """The read side of TicketStore (its base class)."""

    sessions: async_sessionmaker
    clock: Callable[[], dt.datetime]
    views: TicketViews
    tree: CategoryTree

    async def _get(self, db: AsyncSession, number: str) -> Ticket:
        t = await db.scalar(select(Ticket).where(Ticket.number == number))
        if t is None:
            raise TicketNotFound(f"工单 {number} 不存在", number=number)
        return t

    async def get(self, number: str, who: Identity) -> TicketDetail:
        async with self.sessions() as db:
            t = await self._get(db, number)
            may_read(t, who)
            events = (
                await db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id))
            ).all()
            calls = (
                await db.scalars(select(TicketCall).where(TicketCall.ticket_id == t.id).order_by(TicketCall.id))
            ).all()
            merged = (await db.scalars(select(Ticket).where(Ticket.merged_into == t.number).order_by(Ticket.id))).all()
            sent = (
                await db.scalars(
                    select(OutboxMessage).where(OutboxMessage.ticket_number == t.number).order_by(OutboxMessage.id)
                )
            ).all()
            police = (
                await db.scalars(select(PoliceLink).where(PoliceLink.ticket_id == t.id).order_by(PoliceLink.id))
            ).all()
            photos = (
                await db.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id == t.id).order_by(TicketPhoto.id))
            ).all()
            agent_name = await db.scalar(select(User.display_name).where(User.username == t.agent)) if t.agent else None
        unit = self.tree.units.by_code.get(t.department)
        return TicketDetail(
            self.views.view(t, who),
            self.views.history(list(events)),
            self.views.calls(list(calls), who),
            # Every source of the matter: the duplicates merged into it.
            tuple(self.views.view(m, who) for m in merged),
            tuple(self.views.delivery(m) for m in sent),
            tuple(self.views.police(p) for p in police),
            self.views.photos(list(photos)),
            unit.path if unit else "",
            agent_name or t.agent,
        )

    async def search(
        self,
        who: Identity,
        *,
        status: str | None = None,
        caller: str | None = None,
        department: str | None = None,
        limit: int = 50,
    ) -> list[TicketView]:
        q: Select[tuple[Ticket]] = select(Ticket)
        if status:
            q = q.where(Ticket.status == status)
        if caller:
            q = q.where(Ticket.caller == caller)
            if not who.roles & PRIVILEGED:
                # A number typed in must not confirm that a confidential
                # caller called: their tickets are found only by whoever may see them.
                q = q.where(or_(Ticket.confidential.is_(False), Ticket.agent == who.username))
        department = department_only(who) or department
        if department:
            q = q.where(Ticket.department == department)
        async with self.sessions() as db:
            rows = (
                await db.scalars(q.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(max(1, min(limit, 500))))
            ).all()
        return [self.views.view(t, who) for t in rows]

    async def ledger(self, who: Identity | None) -> list[OverdueView]:
        """督办台账: tickets past a deadline, the most overdue first."""
        now = self.clock()
        async with self.sessions() as db:
            rows = (
                await db.scalars(
                    select(Ticket).where(
                        or_(
                            (Ticket.status == wf.Status.DISPATCHED.value) & (Ticket.deadline_at < now),
                            (Ticket.status == wf.Status.FEEDBACK.value) & (Ticket.revisit_due_at < now),
                        )
                    )
                )
            ).all()
        out = []
        for t in rows:
            due = t.deadline_at if t.status == wf.Status.DISPATCHED.value else t.revisit_due_at
            assert due is not None
            stage = "办理超时" if t.status == wf.Status.DISPATCHED.value else "回访超时"
            out.append(OverdueView(self.views.view(t, who), round((now - due).total_seconds() / 3600, 1), stage))
        return sorted(out, key=lambda r: -r.overdue_hours)

    async def unsubmitted(self, in_call: set[str]) -> list[Unsubmitted]:
        """Phone tickets still 已受理: answered calls whose form was never
        submitted, the oldest first, with who took them."""
        now = self.clock()
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(Ticket, User.display_name, TicketDraft.ticket_id)
                    .outerjoin(User, User.username == Ticket.agent)
                    .outerjoin(TicketDraft, TicketDraft.ticket_id == Ticket.id)
                    .where(Ticket.channel == "phone", Ticket.status == wf.Status.ACCEPTED.value)
                    .order_by(Ticket.created_at, Ticket.id)
                    .limit(500)
                )
            ).all()
            chased = dict(
                (
                    await db.execute(
                        select(TicketEvent.ticket_id, func.count())
                        .where(TicketEvent.action == "chase", TicketEvent.ticket_id.in_([t.id for t, _, _ in rows]))
                        .group_by(TicketEvent.ticket_id)
                    )
                ).all()
            )
        return [
            Unsubmitted(
                t.number,
                t.agent,
                name or t.agent,
                t.seat,
                mask_number(t.caller),
                t.created_at,
                int((now - t.created_at).total_seconds()),
                draft is not None,
                t.number in in_call,
                int(chased.get(t.id, 0)),
            )
            for t, name, draft in rows
        ]

    async def counts(self) -> dict[str, int]:
        """Tickets by status, and how many are overdue (for the metrics)."""
        async with self.sessions() as db:
            rows = (await db.execute(select(Ticket.status, func.count()).group_by(Ticket.status))).all()
        out = {status: int(n) for status, n in rows}
        out["overdue"] = len(await self.ledger(None))
        return out

    async def count(self) -> int:
        async with self.sessions() as db:
            return int(await db.scalar(select(func.count()).select_from(Ticket)) or 0)

    async def _history(self, db: AsyncSession, caller: str, exclude: int) -> list[PastTicket]:
        rows = (
            await db.scalars(
                select(Ticket)
                .where(Ticket.caller == caller, Ticket.id != exclude)
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(self.cfg.history_limit)
            )
        ).all()
        return [
            PastTicket(
                t.number,
                t.status,
                wf.STATUS_TEXT[wf.Status(t.status)],
                t.created_at,
                self.views.category_label(t.category),
                t.content[:80],
            )
            for t in rows
        ]
