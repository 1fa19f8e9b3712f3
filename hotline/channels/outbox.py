"""What a citizen who wrote in through a channel is told, and when: the
messages are rows of the outbox, written in the ticket change's own
transaction; delivery.py sends them to the channel's gateway."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.config import Settings
from hotline.db.models import OutboxMessage, Ticket
from hotline.tickets import workflow as wf


def citizen_text(t: Ticket, action: str, note: str, department: str) -> tuple[str, str] | None:
    """(kind, text) a citizen is sent after `action` on their ticket, or None
    for steps that are the hotline's own business (a department's return)."""
    if action == "accept":
        return "status", f"您的诉求已受理，工单号 {t.number}，请留意办理进展。"
    if action == "answer":
        return "reply", t.answer
    if action == "dispatch":
        return "status", f"您的诉求（工单 {t.number}）已转{department or '承办部门'}办理。"
    if action == "approve":
        return "status", f"您的诉求（工单 {t.number}）承办部门已办理：{t.feedback}"
    if action == "revisit":
        return "status", f"您的工单 {t.number} 已办结，感谢您对 12345 的支持。"
    if action in ("reopen", "reject"):
        return "status", f"您的工单 {t.number} 正在重新办理。"
    if action == "merge":
        return "status", f"您的诉求与工单 {t.merged_into} 反映的是同一问题，已合并办理，结果将一并告知。"
    return None


# Set in a transaction's info when it queued a message: the deliverer is
# woken by those commits only (most ticket changes send nothing).
QUEUED = "outbox_queued"


class Outbox:
    def __init__(self, settings: Settings):
        self.settings = settings

    def gateway_for(self, channel: str) -> bool:
        return self.settings.gateway(channel) is not None

    async def on_move(
        self, db: AsyncSession, t: Ticket, action: str, note: str, department: str, now: dt.datetime
    ) -> None:
        """After a ticket's status change: a message to its citizen and to the
        citizens of every ticket merged into it, through their channels."""
        said = citizen_text(t, action, note, department)
        if said is None:
            return
        kind, text = said
        self.add(db, t, kind, text, now)
        # A ticket just accepted is new: nothing can have been merged into it yet.
        if action not in ("merge", "accept"):
            merged = (await db.scalars(select(Ticket).where(Ticket.merged_into == t.number))).all()
            for m in merged:
                self.add(db, m, kind, text.replace(t.number, f"{m.number}（并入 {t.number}）"), now)

    def add(self, db: AsyncSession, t: Ticket, kind: str, text: str, now: dt.datetime) -> None:
        if t.channel == "phone" or not self.gateway_for(t.channel):
            return
        at = now.timestamp()
        if t.channel == "110":
            # 110 is told what became of the matter it handed over, by its own number.
            self.add_peer(
                db,
                "110",
                t.number,
                "status",
                {
                    "type": "status",
                    "intake_no": t.external_ref,
                    "ticket": t.number,
                    "kind": kind,
                    "status": t.status,
                    "status_text": wf.STATUS_TEXT[wf.Status(t.status)],
                    "text": text,
                    "department": t.department,
                    "outcome": t.answer or t.feedback,
                    "at": now.isoformat(timespec="seconds"),
                },
                now,
            )
            return
        payload: dict[str, Any] = {
            "ticket": t.number,
            "channel": t.channel,
            "citizen": t.caller,
            "kind": kind,
            "status": t.status,
            "status_text": wf.STATUS_TEXT[wf.Status(t.status)],
            "text": text,
            "at": now.isoformat(timespec="seconds"),
        }
        db.info[QUEUED] = True
        db.add(
            OutboxMessage(
                channel=t.channel,
                ticket_number=t.number,
                kind=kind,
                key=uuid.uuid4().hex,
                payload=payload,
                state="pending",
                attempts=0,
                created_at=at,
                next_at=0.0,
                last_error="",
            )
        )

    def add_peer(
        self, db: AsyncSession, channel: str, ticket_number: str, kind: str, payload: dict[str, Any], now: dt.datetime
    ) -> None:
        """A message to a peer (110): `kind` names its endpoint (incident, status)."""
        db.info[QUEUED] = True
        db.add(
            OutboxMessage(
                channel=channel,
                ticket_number=ticket_number,
                kind=kind,
                key=uuid.uuid4().hex,
                payload=payload,
                state="pending",
                attempts=0,
                created_at=now.timestamp(),
                next_at=0.0,
                last_error="",
            )
        )
