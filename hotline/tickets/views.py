"""Tickets as people see them (tickets/read_models.py) made from their rows:
one shape for the desk, the lists, the ledger and the API, with
confidential callers masked."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hotline.db.models import OutboxMessage, PoliceLink, Ticket, TicketCall, TicketEvent, TicketPhoto
from hotline.identity import Identity
from hotline.numbers import mask_number
from hotline.roles import Role
from hotline.tickets import workflow as wf
from hotline.tickets.access import sees_caller
from hotline.tickets.categories import CategoryTree
from hotline.tickets.read_models import CallView, DeliveryView, HistoryEntry, PhotoView, PoliceLinkView, TicketView

CHANNELS = {
    "phone": "电话",
    "web": "网站",
    "wechat": "微信",
    "sms": "短信",
    "app": "移动应用",
    "110": "110 转办",
    "voicemail": "语音留言",
    "callback": "回拨",
    "grid": "网格员上报",
}
DELIVERY_TEXT = {"pending": "待发送", "delivered": "已送达", "failed": "无法送达"}
POLICE_STATE_TEXT = {"pushed": "已推送，待 110 接警", "received": "110 已接警", "dispatched": "110 已处警"}


class TicketViews:
    def __init__(self, tree: CategoryTree):
        self.tree = tree

    def category_label(self, code: str) -> str:
        node = self.tree.get(code)
        return node.label if node else code

    def view(self, t: Ticket, who: Identity | None) -> TicketView:
        row = self.row(t)
        if sees_caller(t, who):
            return row
        # What was said can name the caller as surely as the number: only
        # the unit handling the matter needs it to act.
        unit_reads = who is not None and bool(who.department) and who.department == t.department
        return replace(
            row,
            caller=mask_number(t.caller),
            caller_name="*" * len(t.caller_name) if t.caller_name else "",
            address="（保密）" if t.address else "",
            content=row.content
            if unit_reads
            else ("（保密工单：内容仅受理坐席、值班长、管理员和承办单位可见）" if t.content else ""),
            masked=True,
        )

    def row(self, t: Ticket) -> TicketView:
        dept = self.tree.departments.get(t.department)
        return TicketView(
            number=t.number,
            status=t.status,
            status_text=wf.STATUS_TEXT[wf.Status(t.status)],
            channel=t.channel,
            channel_text=CHANNELS.get(t.channel, t.channel),
            caller=t.caller,
            caller_name=t.caller_name,
            call_id=t.call_id,
            tag=t.tag,
            ivr_path=tuple(t.ivr_path or ()),
            category=t.category,
            category_text=self.category_label(t.category),
            district=t.district,
            address=t.address,
            content=t.content,
            handling=t.handling,
            answer=t.answer,
            department=t.department,
            department_text=dept.name if dept else "",
            deadline_at=t.deadline_at,
            feedback=t.feedback,
            feedback_at=t.feedback_at,
            revisit_due_at=t.revisit_due_at,
            revisit_note=t.revisit_note,
            satisfaction=t.satisfaction,
            satisfaction_text=wf.SATISFACTION.get(t.satisfaction or 0, ""),
            satisfaction_source=t.satisfaction_source,
            confidential=t.confidential,
            agent=t.agent,
            seat=t.seat,
            wait_s=t.wait_s,
            created_at=t.created_at,
            updated_at=t.updated_at,
            closed_at=t.closed_at,
            redispatches=t.redispatches,
            masked=False,
            merged_into=t.merged_into,
            reviewed_at=t.reviewed_at,
            legal_hold=t.legal_hold,
            anonymised_at=t.anonymised_at,
            external_ref=t.external_ref,
        )

    @staticmethod
    def police(p: PoliceLink) -> PoliceLinkView:
        return PoliceLinkView(
            p.direction,
            "110 转来" if p.direction == "in" else "转 110",
            p.intake_no or "",
            p.reason,
            p.state,
            POLICE_STATE_TEXT.get(p.state, "110 转办"),
            p.result,
            p.created_at,
            p.received_at,
            p.dispatched_at,
        )

    @staticmethod
    def delivery(m: OutboxMessage) -> DeliveryView:
        def at(v: float | None) -> dt.datetime | None:
            return dt.datetime.fromtimestamp(v, dt.timezone.utc).replace(microsecond=0) if v else None

        text = m.payload.get("text") or ("向 110 推送警单" if m.kind == "incident" else "")
        state_text = DELIVERY_TEXT.get(m.state, m.state)
        return DeliveryView(
            m.id, m.kind, text, m.state, state_text, m.attempts, m.last_error, at(m.created_at), at(m.delivered_at)
        )

    @staticmethod
    def history(events: list[TicketEvent]) -> tuple[HistoryEntry, ...]:
        return tuple(
            HistoryEntry(
                e.at, e.actor, e.action, wf.ACTION_TEXT.get(e.action, e.action), e.from_status, e.to_status, e.note
            )
            for e in events
        )

    @staticmethod
    def calls(calls: list[TicketCall], who: Identity) -> tuple[CallView, ...]:
        """The calls of a ticket; a recording is offered only to whom may hear it
        (leads and admins, the agent who took the call: recordings/store.py)."""
        hears_all = bool(who.roles & {Role.LEAD, Role.ADMIN})

        def view(c: TicketCall) -> CallView:
            if not c.recording:
                return CallView(c.call_id, c.seat, c.agent, c.answered_at, None, "无录音")
            if c.recording_purged:
                return CallView(c.call_id, c.seat, c.agent, c.answered_at, None, "录音已过保存期")
            if not (hears_all or who.username == c.agent):
                return CallView(c.call_id, c.seat, c.agent, c.answered_at, None, "录音仅值班长、管理员和接听坐席可听")
            return CallView(c.call_id, c.seat, c.agent, c.answered_at, f"/api/recordings/{c.call_id}")

        return tuple(view(c) for c in calls)

    @staticmethod
    def photos(photos: list[TicketPhoto]) -> tuple[PhotoView, ...]:
        return tuple(PhotoView(p.id, f"/api/photos/{p.id}", p.size, p.uploaded_by, p.at) for p in photos)
