"""A line in a ticket's history that changes nothing else: a note from the
call, a photo, a car-moving request, what 110 did. Every history row is
written by the tickets package, through here or the store's own moves."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import Ticket, TicketEvent


def record(db: AsyncSession, t: Ticket, *, actor: str, action: str, note: str, at: dt.datetime) -> None:
    db.add(
        TicketEvent(
            ticket_id=t.id, at=at, actor=actor, action=action, from_status=t.status, to_status=t.status, note=note
        )
    )
