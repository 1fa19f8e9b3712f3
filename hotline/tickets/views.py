"""Tickets as people see them: one row shape for the desk, the lists, the
ledger and the API, with confidential callers masked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hotline.accounts import Identity
from hotline.db.models import OutboxMessage, PoliceLink, Ticket, TicketCall, TicketEvent
from hotline.numbers import mask_number
from hotline.tickets import workflow as wf
from hotline.tickets.access import sees_caller
from hotline.tickets.categories import CategoryTree

CHANNELS = {"phone": "电话", "web": "网站", "wechat": "微信", "sms": "短信", "app": "移动应用", "110": "110 转办",
            "voicemail": "语音留言", "callback": "回拨", "grid": "网格员上报"}
DELIVERY_TEXT = {"pending": "待发送", "delivered": "已送达", "failed": "无法送达"}


class TicketViews:
    def __init__(self, tree: CategoryTree):
        self.tree = tree

    def category_label(self, code: str) -> str:
        node = self.tree.get(code)
        return node.label if node else code

    # -- other channels --------------------------------------------------------------------
    def view(self, t: Ticket, who: Identity | None) -> dict[str, Any]:
        row = self.row(t)
        if not sees_caller(t, who):
            row["caller"] = mask_number(t.caller)
            row["caller_name"] = "*" * len(t.caller_name) if t.caller_name else ""
            row["address"] = "（保密）" if t.address else ""
            # What was said can name the caller as surely as the number: only
            # the unit handling the matter needs it to act.
            if not (who is not None and who.department and who.department == t.department):
                row["content"] = "（保密工单：内容仅受理坐席、值班长、管理员和承办单位可见）" if t.content else ""
            row["masked"] = True
        return row

    def row(self, t: Ticket) -> dict[str, Any]:
        dept = self.tree.departments.get(t.department)
        return {
            "number": t.number, "status": t.status, "status_text": wf.STATUS_TEXT[wf.Status(t.status)],
            "channel": t.channel, "channel_text": CHANNELS.get(t.channel, t.channel), "caller": t.caller,
            "caller_name": t.caller_name, "call_id": t.call_id, "tag": t.tag, "ivr_path": t.ivr_path,
            "category": t.category, "category_text": self.category_label(t.category), "district": t.district,
            "address": t.address, "content": t.content, "handling": t.handling, "answer": t.answer,
            "department": t.department, "department_text": dept.name if dept else "",
            "deadline_at": t.deadline_at.isoformat() if t.deadline_at else None,
            "feedback": t.feedback, "feedback_at": t.feedback_at.isoformat() if t.feedback_at else None,
            "revisit_due_at": t.revisit_due_at.isoformat() if t.revisit_due_at else None,
            "revisit_note": t.revisit_note, "satisfaction": t.satisfaction,
            "satisfaction_text": wf.SATISFACTION.get(t.satisfaction or 0, ""),
            "satisfaction_source": t.satisfaction_source, "confidential": t.confidential, "agent": t.agent,
            "seat": t.seat, "wait_s": t.wait_s, "created_at": t.created_at.isoformat(),
            "updated_at": t.updated_at.isoformat(), "closed_at": t.closed_at.isoformat() if t.closed_at else None,
            "redispatches": t.redispatches, "masked": False, "merged_into": t.merged_into,
            "reviewed_at": t.reviewed_at.isoformat() if t.reviewed_at else None,
            "external_ref": t.external_ref,
        }

    @staticmethod
    def police(p: PoliceLink) -> dict[str, Any]:
        """A matter exchanged with 110, as the ticket page and the desk show it."""
        state_text = {"pushed": "已推送，待 110 接警", "received": "110 已接警", "dispatched": "110 已处警"}
        return {"direction": p.direction, "direction_text": "110 转来" if p.direction == "in" else "转 110",
                "intake_no": p.intake_no or "", "reason": p.reason, "state": p.state,
                "state_text": state_text.get(p.state, "110 转办"), "result": p.result,
                "created_at": p.created_at.isoformat(),
                "received_at": p.received_at.isoformat() if p.received_at else None,
                "dispatched_at": p.dispatched_at.isoformat() if p.dispatched_at else None}

    @staticmethod
    def delivery(m: OutboxMessage) -> dict[str, Any]:
        def at(v: float | None) -> str | None:
            return dt.datetime.fromtimestamp(v, dt.timezone.utc).isoformat(timespec="seconds") if v else None

        text = m.payload.get("text") or ("向 110 推送警单" if m.kind == "incident" else "")
        return {"id": m.id, "kind": m.kind, "text": text, "state": m.state,
                "state_text": DELIVERY_TEXT.get(m.state, m.state), "attempts": m.attempts,
                "last_error": m.last_error, "created_at": at(m.created_at), "delivered_at": at(m.delivered_at)}

    @staticmethod
    def history(events: list[TicketEvent]) -> list[dict[str, Any]]:
        return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                 "action_text": wf.ACTION_TEXT.get(e.action, e.action), "from": e.from_status,
                 "to": e.to_status, "note": e.note} for e in events]

    @staticmethod
    def calls(calls: list[TicketCall]) -> list[dict[str, Any]]:
        return [{"call_id": c.call_id, "seat": c.seat, "agent": c.agent, "answered_at": c.answered_at.isoformat(),
                 "recording": None if c.recording_purged or not c.recording else f"/api/recordings/{c.call_id}"}
                for c in calls]
