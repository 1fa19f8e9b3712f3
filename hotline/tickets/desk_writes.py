"""The desk's writes to a ticket while its call is on: the draft kept as it
is typed, and the submit (answered on the spot, or dispatched to a unit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hotline.accounts import Identity
from hotline.db.models import Ticket, TicketDraft
from hotline.errors import BadRequest
from hotline.tickets import workflow as wf
from hotline.tickets.access import own
from hotline.tickets.core import TicketCore
from hotline.tickets.duplicates import Candidate
from hotline.tickets.form import FORM_TEXT, apply_form, flag
from hotline.tickets.read_models import OpenDraft, TicketView


class DeskWrites(TicketCore):
    async def open_ticket_of(self, agent: str) -> OpenDraft | None:
        """The agent's newest ticket still being taken, with its draft: what a
        reloaded desk shows again."""
        async with self.sessions() as db:
            t = await db.scalar(
                select(Ticket)
                .where(Ticket.agent == agent, Ticket.channel == "phone", Ticket.status == wf.Status.ACCEPTED.value)
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            if t is None:
                return None
            draft = await db.get(TicketDraft, t.id)
            history = await self._history(db, t.caller, t.id) if t.caller else []
        return OpenDraft(self.views.row(t), draft.data if draft else {}, tuple(history))

    async def save_draft(self, number: str, who: Identity, data: dict[str, Any]) -> dict[str, Any]:
        # A draft keeps what was typed; only text (or a number of days) is text.
        clean = {
            k: str(v)[:limit]
            for k, limit in {**FORM_TEXT, "handling": 16, "deadline_days": 8}.items()
            if type(v := data.get(k)) in (str, int, float)
        }
        if "confidential" in data:
            clean["confidential"] = flag(data, "confidential", False)
        now = self.clock()
        async with self.tx() as db:
            t = await self._get(db, number)
            own(t, who)
            if t.status != wf.Status.ACCEPTED.value:
                raise wf.TransitionRefused("工单已提交，草稿不再保存", status=t.status)
            row = await db.get(TicketDraft, t.id)
            if row is None:
                db.add(TicketDraft(ticket_id=t.id, data=clean, updated_at=now, updated_by=who.username))
            else:
                row.data, row.updated_at, row.updated_by = clean, now, who.username
        return {"saved_at": now.isoformat(), "draft": clean}

    async def submit(self, number: str, who: Identity, body: dict[str, Any]) -> TicketView:
        """The agent's submit: answered on the spot (closed) or dispatched."""
        form = self._read_form(body, require_content=True)
        handling = body.get("handling")
        if handling not in ("answered", "dispatched"):
            raise BadRequest("handling 必须是 answered（当场答复）或 dispatched（派单）", field="handling")
        if handling == "answered" and not form.get("answer"):
            raise BadRequest("当场答复需要填写答复内容", field="answer")
        now = self.clock()
        found: list[Candidate] = []
        if handling == "dispatched":
            async with self.sessions() as db:
                caller = (await self._get(db, number)).caller
            found = await self.suspects(body, caller, number)
        async with self.tx() as db:
            t = await self._get(db, number)
            own(t, who)
            action = "answer" if handling == "answered" else "dispatch"
            after = wf.transition(t.status, action, who.roles)
            apply_form(t, form)
            t.confidential = flag(body, "confidential", t.confidential)
            t.handling = handling
            note = ""
            if action == "dispatch":
                note = self._dispatch(t, body, now)
            else:
                # Answered on the spot: no unit handled it, whatever the form
                # pre-filled from the category (it is counted for no bureau).
                t.department, t.deadline_at, t.closed_at = "", None, now
            # A phone ticket sent on may repeat an open one (other channels were
            # compared when they were taken in).
            await self._move(
                db,
                t,
                action,
                after,
                who.username,
                note,
                now,
                suspects=found if action == "dispatch" and t.channel == "phone" else (),
            )
            draft = await db.get(TicketDraft, t.id)
            if draft is not None:
                await db.delete(draft)
        return self.views.row(t)
