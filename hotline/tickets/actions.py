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
from hotline.tickets.views import CHANNELS


class WorkflowActions(TicketCore):
    async def act(self, number: str, action: str, who: Identity, body: dict[str, Any]) -> dict[str, Any]:
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
            if action in ("return", "feedback") and not note:
                raise BadRequest("请填写" + ("退单理由" if action == "return" else "办理结果"), field="note")
            if action == "feedback":
                t.feedback, t.feedback_at = note, now
                t.revisit_due_at = now + dt.timedelta(days=self.cfg.revisit_days)
            elif action == "return":
                t.department, t.deadline_at = "", None
            elif action == "handover":
                to = body.get("department")
                if type(to) is not str or to not in self.tree.departments or to == t.department:
                    raise BadRequest("请选择接手的单位（部门或网格站）", field="department")
                if not note:
                    raise BadRequest("请填写转交理由", field="note")
                here = self.tree.departments.get(t.department)
                note = f"由{here.name if here else t.department}转交{self.tree.departments[to].name}：{note}"
                t.department = to
            elif action == "receive":
                note = note or "已签收"
            elif action == "note" and not note:
                raise BadRequest("请填写现场记录", field="note")
            elif action == "dispatch":
                form = self._read_form(body, require_content=False)
                apply_form(t, {k: v for k, v in form.items() if k == "category"})
                note = self._dispatch(t, body, now) + (f"；{note}" if note else "")
            elif action == "approve":
                if t.reviewed_at is not None:
                    raise wf.TransitionRefused("反馈已审核通过", action=action)
                t.reviewed_at = now
            elif action == "reject":
                if not note:
                    raise BadRequest("请填写审核退回的理由", field="note")
                t.feedback, t.feedback_at, t.revisit_due_at, t.reviewed_at = "", None, None, None
                note = "反馈审核未通过，退回承办部门重新办理：" + note
            elif action in ("revisit", "reopen"):
                t.revisit_note = note
                score = body.get("satisfaction")
                if score is not None:
                    if type(score) is not int or score not in wf.SATISFACTION:
                        raise BadRequest("satisfaction 是 1-5（1 非常满意 … 5 非常不满意）", field="satisfaction")
                    t.satisfaction, t.satisfaction_source = score, "revisit"
                if action == "reopen":
                    t.redispatches += 1
                    t.feedback, t.feedback_at, t.revisit_due_at = "", None, None
                    node = self.tree.get(t.category)
                    days = node.deadline_days if node else self.cfg.deadline_days
                    t.deadline_at = now + dt.timedelta(days=days)
                    note = "回访不满意，重新办理" + (f"：{note}" if note else "")
                else:
                    t.closed_at = now
            await self._move(db, t, action, after, who.username, note, now)
        return self.views.row(t)

    async def merge(self, number: str, into: str, who: Identity) -> dict[str, Any]:
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
            history.record(db, target, actor=who.username, action="merge", at=now,
                           note=f"工单 {t.number}（{CHANNELS.get(t.channel, t.channel)}）并入本工单")
            # Merged into a ticket that has no caller yet, the citizen's number comes along.
            if not target.caller and t.caller:
                target.caller = t.caller
        return self.views.row(t)

