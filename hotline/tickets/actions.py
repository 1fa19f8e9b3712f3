"""The workflow after the desk: units' feedback and returns, handovers,
re-dispatch, the lead's review, the revisit, and merging duplicates (并单).
The rules of who may do what from which state are tickets/workflow.py's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hotline.accounts import Identity
from hotline.errors import BadRequest
from hotline.tickets import history
from hotline.tickets import workflow as wf
from hotline.tickets.access import NotYourTicket, may_read, unit_only
from hotline.tickets.core import TicketCore
from hotline.tickets.form import apply_form
from hotline.tickets.read_models import TicketView
from hotline.tickets.views import CHANNELS


class WorkflowActions(TicketCore):
    async def act(self, number: str, action: str, who: Identity, body: dict[str, Any]) -> TicketView:
        """Department feedback or return, re-dispatch, review of the feedback, revisit."""
        now = self.clock()
        note = body.get("note", "")
        if type(note) is not str:
            raise BadRequest("note 必须是文本", field="note")
        note = note.strip()
        if len(note) > 4000:
            raise BadRequest("说明最长 4000 字", field="note")
        async with self.tx() as db:
            t = await self._get(db, number)
            # Before any rule about the ticket's state: whatever a department
            # is refused must look the same as a ticket that does not exist.
            may_read(t, who)
            if unit_only(who) and t.department != who.department:
                raise NotYourTicket("这张工单不在本单位办理")
            if action == "revisit" and body.get("satisfied") is False:
                action = "reopen"
            after = wf.transition(t.status, action, who.roles)
            if action == "dispatch":
                form = self._read_form(body, require_content=False)
                apply_form(t, {k: v for k, v in form.items() if k == "category"})
                note = self._dispatch(t, body, now) + (f"；{note}" if note else "")
            else:
                change = wf.ACTIONS[action](t, body, note, self._action_context(now))
                for name, value in change.fields.items():
                    setattr(t, name, value)
                note = change.note
            await self._move(db, t, action, after, who.username, note, now)
        return self.views.row(t)

    def _action_context(self, now: dt.datetime) -> wf.ActionContext:
        def deadline_days(category: str) -> float:
            node = self.tree.get(category)
            return node.deadline_days if node else self.cfg.deadline_days

        return wf.ActionContext(
            now, self.cfg.revisit_days, {c: d.name for c, d in self.tree.departments.items()}, deadline_days
        )

    async def merge(self, number: str, into: str, who: Identity) -> TicketView:
        """并单: this ticket is the same matter as `into`; it closes here and is
        handled there, which keeps it (and its citizen) among its sources."""
        if number == into:
            raise BadRequest("不能并入自身", field="into")
        now = self.clock()
        async with self.tx() as db:
            t = await self._get(db, number)
            target = await self._get(db, into)
            may_read(t, who)
            may_read(target, who)
            if target.status == wf.Status.CLOSED.value or target.merged_into:
                raise wf.TransitionRefused(f"工单 {into} 已办结或已并入其他工单，不能并入", action="merge")
            after = wf.transition(t.status, "merge", who.roles)
            t.merged_into, t.handling, t.closed_at = target.number, "merged", now
            await self._move(db, t, "merge", after, who.username, f"并入工单 {target.number}", now)
            history.record(
                db,
                target,
                actor=who.username,
                action="merge",
                at=now,
                note=f"工单 {t.number}（{CHANNELS.get(t.channel, t.channel)}）并入本工单",
            )
            # Merged into a ticket that has no caller yet, the citizen's number comes along.
            if not target.caller and t.caller:
                target.caller = t.caller
        return self.views.row(t)
