"""The tickets' read models: what the desk, the lists, the ledger and the
API show. JSON is made from them only at the web edge (`as_dict`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from hotline.jsonout import ReadModel


@dataclass(frozen=True, slots=True)
class TicketView(ReadModel):
    number: str
    status: str
    status_text: str
    channel: str
    channel_text: str
    caller: str
    caller_name: str
    call_id: str | None
    tag: str
    ivr_path: tuple[dict[str, Any], ...]  # the IVR menus the caller went through
    category: str
    category_text: str
    district: str
    address: str
    content: str
    handling: str
    answer: str
    department: str
    department_text: str
    deadline_at: dt.datetime | None
    feedback: str
    feedback_at: dt.datetime | None
    revisit_due_at: dt.datetime | None
    revisit_note: str
    satisfaction: int | None
    satisfaction_text: str
    satisfaction_source: str
    confidential: bool
    agent: str
    seat: str
    wait_s: float | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    redispatches: int
    masked: bool
    merged_into: str
    reviewed_at: dt.datetime | None
    external_ref: str
    legal_hold: bool = False  # the retention run keeps everything while it lasts
    anonymised_at: dt.datetime | None = None  # its callers' numbers and names were blanked


@dataclass(frozen=True, slots=True)
class PoliceLinkView(ReadModel):
    """A matter exchanged with 110, as the ticket page and the desk show it."""

    direction: str
    direction_text: str
    intake_no: str
    reason: str
    state: str
    state_text: str
    result: str
    created_at: dt.datetime
    received_at: dt.datetime | None
    dispatched_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryView(ReadModel):
    id: int
    kind: str
    text: str
    state: str
    state_text: str
    attempts: int
    last_error: str
    created_at: dt.datetime | None
    delivered_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class HistoryEntry(ReadModel):
    at: dt.datetime
    actor: str
    action: str
    action_text: str
    from_status: str
    to_status: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "action_text": self.action_text,
            "from": self.from_status,
            "to": self.to_status,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class CallView(ReadModel):
    call_id: str
    seat: str
    agent: str
    answered_at: dt.datetime
    recording: str | None  # where to play it; None when there is none, it was purged, or not for this reader
    note: str = ""  # why there is nothing to play


@dataclass(frozen=True, slots=True)
class PhotoView(ReadModel):
    id: int
    url: str
    size: int
    uploaded_by: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class TicketDetail:
    """A ticket's page: the ticket and everything that happened to it."""

    ticket: TicketView
    history: tuple[HistoryEntry, ...]
    calls: tuple[CallView, ...]
    sources: tuple[TicketView, ...]  # the duplicates merged into it
    deliveries: tuple[DeliveryView, ...]
    police: tuple[PoliceLinkView, ...]
    photos: tuple[PhotoView, ...]
    unit_path: str
    agent_name: str = ""  # the person who took it, by name

    def as_dict(self) -> dict[str, Any]:
        out = self.ticket.as_dict()
        for name in ("history", "calls", "sources", "deliveries", "police", "photos"):
            out[name] = [v.as_dict() for v in getattr(self, name)]
        out["unit_path"] = self.unit_path
        out["agent_name"] = self.agent_name
        return out


@dataclass(frozen=True, slots=True)
class OverdueView:
    """A line of the 督办台账."""

    ticket: TicketView
    overdue_hours: float
    overdue_stage: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.ticket.as_dict(), "overdue_hours": self.overdue_hours, "overdue_stage": self.overdue_stage}


@dataclass(frozen=True, slots=True)
class PastTicket(ReadModel):
    """One of the caller's earlier tickets, as the screen pop lists them."""

    number: str
    status: str
    status_text: str
    created_at: dt.datetime
    category: str  # its label
    content: str  # the first 80 characters


@dataclass(frozen=True, slots=True)
class CallerContext(ReadModel):
    """What the screen pop shows before the ticket exists."""

    ivr_path: tuple[dict[str, Any], ...]
    ivr_category: str
    ivr_tag: str
    history: tuple[PastTicket, ...]
    repeat: bool  # called about something within the repeat window


NO_CONTEXT = CallerContext((), "", "", (), False)


@dataclass(frozen=True, slots=True)
class OpenedTicket(ReadModel):
    """The ticket an answered call opened, with the caller's other tickets."""

    ticket: TicketView
    history: tuple[PastTicket, ...]
    repeat: bool


@dataclass(frozen=True, slots=True)
class OpenDraft(ReadModel):
    """The agent's ticket still being taken, as a reloaded desk shows it again."""

    ticket: TicketView
    draft: dict[str, Any]
    history: tuple[PastTicket, ...]


@dataclass(frozen=True, slots=True)
class Unsubmitted(ReadModel):
    """A call's ticket its agent has not submitted: the lead's list to chase."""

    number: str
    agent: str
    agent_name: str
    seat: str
    caller: str  # masked
    created_at: dt.datetime
    age_s: int
    has_draft: bool
    in_call: bool  # the agent is still on this call: being taken, not forgotten
    chased: int  # how many times the lead has chased it
