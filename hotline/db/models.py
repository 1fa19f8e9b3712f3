"""Tables. Every schema change goes through an Alembic migration."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stored as UTC; SQLite drops the zone, so it is put back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.timezone.utc) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    roles: Mapped[str] = mapped_column(String(128), doc="comma-separated Role values")
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    department: Mapped[str] = mapped_column(
        String(32), default="", server_default="", doc="department code, for department accounts"
    )
    # A password someone else chose (the first admin's, printed at first
    # start): the user must set their own before doing anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    skills: Mapped[str] = mapped_column(
        String(128),
        default="",
        server_default="",
        doc="comma-separated skills (涉企, 方言, ...) work items may ask for",
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserAudit(Base):
    """Every change an administrator (or the CLI) made to an account."""

    __tablename__ = "user_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32), doc="create | edit | reset-password | disable | enable | unlock")
    detail: Mapped[str] = mapped_column(String(500), default="")


class WebSession(Base):
    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class IvrFlow(Base):
    __tablename__ = "ivr_flows"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    draft: Mapped[str] = mapped_column(Text)
    draft_updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    draft_updated_by: Mapped[str] = mapped_column(String(64))
    current_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class IvrFlowVersion(Base):
    __tablename__ = "ivr_flow_versions"
    __table_args__ = (UniqueConstraint("flow_name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow_name: Mapped[str] = mapped_column(ForeignKey("ivr_flows.name"))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(64))


class IvrAudit(Base):
    __tablename__ = "ivr_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow_name: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    diff: Mapped[str] = mapped_column(Text, default="")


class Announcement(Base):
    """The emergency notice (预案) played before the menu while active."""

    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class Call(Base):
    """One inbound call, from the IVR on. Tickets and figures join on call_id."""

    __tablename__ = "calls"
    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    caller: Mapped[str] = mapped_column(String(32), default="", index=True)
    caller_name: Mapped[str] = mapped_column(String(64), default="")
    dialed: Mapped[str] = mapped_column(String(32), default="")
    tag: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    flow_name: Mapped[str] = mapped_column(String(64), default="")
    flow_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ivr_path: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(64), default="")
    route: Mapped[str] = mapped_column(String(32), default="")
    survey: Mapped[int | None] = mapped_column(Integer, nullable=True)


class VoiceMessage(Base):
    __tablename__ = "voice_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id"), index=True)
    caller: Mapped[str] = mapped_column(String(32), default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    file: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Ticket(Base):
    """One citizen's request (工单), from any channel, through its whole workflow."""

    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="accepted", index=True)
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    caller: Mapped[str] = mapped_column(String(32), default="", index=True)
    caller_name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    tag: Mapped[str] = mapped_column(String(32), default="", server_default="")
    ivr_path: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(32), default="", server_default="")
    district: Mapped[str] = mapped_column(String(32), default="", server_default="")
    address: Mapped[str] = mapped_column(String(256), default="", server_default="")
    content: Mapped[str] = mapped_column(Text, default="", server_default="")
    handling: Mapped[str] = mapped_column(
        String(16), default="", server_default="", doc="answered (on the spot) | dispatched"
    )
    answer: Mapped[str] = mapped_column(Text, default="", server_default="")
    department: Mapped[str] = mapped_column(String(32), default="", server_default="", index=True)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    feedback: Mapped[str] = mapped_column(Text, default="", server_default="")
    feedback_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revisit_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revisit_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    satisfaction_source: Mapped[str] = mapped_column(String(16), default="", server_default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    agent: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    seat: Mapped[str] = mapped_column(String(32), default="", server_default="")
    wait_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    redispatches: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A duplicate merged into another ticket (并单): closed here, handled there.
    merged_into: Mapped[str] = mapped_column(String(32), default="", server_default="", index=True)
    # The public page's query code (查询码), hashed; tickets from elsewhere have none.
    query_code_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # The hotline approved the department's feedback (审核通过); the revisit follows.
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The sender's own number for this matter (110's 接警单编号), quoted back to it.
    external_ref: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # A legal hold (诉讼保全等): retention keeps everything of the ticket while it lasts.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Its callers' numbers and names were anonymised by the retention run.
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TicketCall(Base):
    """A call a ticket came from (a caller may call again about the same ticket)."""

    __tablename__ = "ticket_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    uniqueid: Mapped[str] = mapped_column(String(64), default="")
    seat: Mapped[str] = mapped_column(String(32), default="")
    agent: Mapped[str] = mapped_column(String(64), default="", index=True)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recording: Mapped[str] = mapped_column(String(256), default="", doc="file name in the recordings folder")
    recording_purged: Mapped[bool] = mapped_column(Boolean, default=False)


class TicketEvent(Base):
    """Status history: who moved the ticket, from what to what, and why."""

    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class TicketDraft(Base):
    """The desk's form as typed, so closing the browser loses nothing."""

    __tablename__ = "ticket_drafts"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class TicketSequence(Base):
    """Per-day counter behind readable ticket numbers (20261127000001)."""

    __tablename__ = "ticket_sequences"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class KbArticle(Base):
    """Knowledge base (知识库) the desk searches while a citizen talks."""

    __tablename__ = "kb_articles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentSession(Base):
    """Who is logged in where: the controller's intent, rebuilt after a restart."""

    __tablename__ = "agent_sessions"
    seat: Mapped[str] = mapped_column(String(32), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), unique=True)
    agent_name: Mapped[str] = mapped_column(String(64), default="")
    login_at: Mapped[float] = mapped_column(Float)
    standby: Mapped[bool] = mapped_column(Boolean, default=False)
    pause: Mapped[str] = mapped_column(String(32), default="")
    lawyer: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class AcdIntent(Base):
    """The shift lead's standing choices (line count, standby), one row: a
    controller restarted mid-shift goes on with them, not with the schedule."""

    __tablename__ = "acd_intent"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lines_override: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lines_window: Mapped[str] = mapped_column(String(64), default="")
    lines_set_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lines_actor: Mapped[str] = mapped_column(String(64), default="")
    standby_manual: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    standby_actor: Mapped[str] = mapped_column(String(64), default="")
    # Agents the lead keeps off overflow, comma-separated user names.
    overflow_exempt: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A running contingency plan's count: in a cluster the leader plans with
    # it wherever the lead started the plan.
    plan_lines: Mapped[int | None] = mapped_column(Integer, nullable=True)


class QueueCall(Base):
    """One caller's stay in the queue; figures over a rolling 24 hours come from here."""

    __tablename__ = "queue_calls"
    uniqueid: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    queue: Mapped[str] = mapped_column(String(64), default="")
    caller: Mapped[str] = mapped_column(String(32), default="")
    tag: Mapped[str] = mapped_column(String(32), default="")
    joined_at: Mapped[float] = mapped_column(Float, index=True)
    answered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    seat: Mapped[str] = mapped_column(String(32), default="")
    hold_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    talk_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    wrapup_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RosterEntry(Base):
    """Who is due on which shift of which day (排班)."""

    __tablename__ = "roster_entries"
    __table_args__ = (UniqueConstraint("day", "shift", "agent"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    shift: Mapped[str] = mapped_column(String(8))
    agent: Mapped[str] = mapped_column(String(64), index=True)
    added_by: Mapped[str] = mapped_column(String(64), default="")
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RosterSwap(Base):
    """An agent's request to hand a shift to a colleague, or to exchange it
    for one of theirs (调班), until the lead decides."""

    __tablename__ = "roster_swaps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester: Mapped[str] = mapped_column(String(64), index=True)
    entry_id: Mapped[int] = mapped_column(Integer, doc="the requester's roster entry")
    with_agent: Mapped[str] = mapped_column(String(64))
    their_entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True, doc="exchanged for; none: handed over")
    note: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending", doc="pending | approved | refused")
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PlanRun(Base):
    """One run of a contingency plan: who started and ended it, why, and
    what it changed (before and the plan's value, to restore on its end)."""

    __tablename__ = "plan_runs"
    # At most one plan runs, whichever controller starts it (two leads at two nodes).
    __table_args__ = (
        Index(
            "uq_plan_runs_running",
            text("(ended_at IS NULL)"),
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    started_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by: Mapped[str] = mapped_column(String(64), default="")
    end_reason: Mapped[str] = mapped_column(String(200), default="")


class EdgeSteer(Base):
    """Where the SIP edge sends new calls: one row per seat free and
    unclaimed on a node, interleaved over the nodes, rewritten by the
    cluster's leader every heartbeat and read by the edge every second
    (kamailio-conf/kamailio.cfg route STEER); none fresh: round robin."""

    __tablename__ = "edge_steer"
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    node: Mapped[str] = mapped_column(String(32))
    uri: Mapped[str] = mapped_column(String(128))
    written_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PlanDef(Base):
    """A contingency plan an admin prepared on the plans page (by code):
    a plan of the configuration file with the same code is replaced by it,
    or hidden when the admin deleted it."""

    __tablename__ = "plan_defs"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class AcdEvent(Base):
    """Every change of lines, standby and seats, with its reason (shown to the lead)."""

    __tablename__ = "acd_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    seat: Mapped[str] = mapped_column(String(32), default="")
    actor: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class Callback(Base):
    """A call back to a citizen: booked in the queue (keeps the place) or for a missed call."""

    __tablename__ = "callbacks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # keep-place | missed
    number: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_result: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[float] = mapped_column(Float, index=True)
    due_at: Mapped[float] = mapped_column(Float)
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class SipBlock(Base):
    """An address refused at the SIP ACL after repeated failed authentication."""

    __tablename__ = "sip_blocks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    failures: Mapped[int] = mapped_column(Integer)
    accounts: Mapped[str] = mapped_column(String(256), default="", doc="account names it tried, comma-separated")
    blocked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lifted_by: Mapped[str] = mapped_column(String(64), default="", doc="admin who lifted it; empty: expired")


class WorkItem(Base):
    """A piece of non-voice work offered to agents off the phone lines; its
    state is the controller's intent (who holds it), so a restart resumes it."""

    __tablename__ = "work_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    ref: Mapped[str] = mapped_column(String(64), default="", doc="voice message / callback id, or ticket number")
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), nullable=True, index=True
    )
    title: Mapped[str] = mapped_column(String(128), default="")
    skill: Mapped[str] = mapped_column(String(16), default="")
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="waiting", index=True)
    agent: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[float] = mapped_column(Float, index=True)
    not_before: Mapped[float] = mapped_column(Float, default=0.0)
    due_at: Mapped[float] = mapped_column(Float)
    offered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    offer_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    accepted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    declined: Mapped[list[str]] = mapped_column(JSON, default=list)
    parked: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(32), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class WorkEvent(Base):
    """Each offer, acceptance, hand-back, park and completion of a work item."""

    __tablename__ = "work_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id", ondelete="CASCADE"), index=True)
    at: Mapped[float] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(16))
    agent: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # Set on a new item's first event, so both are written at the commit's
    # one flush (no flush of its own for the item's id); never loaded.
    item: Mapped[WorkItem] = relationship(lazy="raise")


class OutboxMessage(Base):
    """A reply or status change for a citizen, to its channel's gateway;
    written in the ticket change's own transaction, delivered at least once."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    ticket_number: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="reply | status")
    key: Mapped[str] = mapped_column(String(64), unique=True, doc="Idempotency-Key the gateway sees")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    next_at: Mapped[float] = mapped_column(Float)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_error: Mapped[str] = mapped_column(String(256), default="")


class OutboxAttempt(Base):
    """The delivery log: one row per attempt."""

    __tablename__ = "outbox_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    at: Mapped[float] = mapped_column(Float)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True, doc="HTTP status; none: no answer")
    error: Mapped[str] = mapped_column(String(256), default="")
    ms: Mapped[float] = mapped_column(Float, default=0.0)


class PoliceLink(Base):
    """A matter exchanged with the police's 110 centre: `in` (110 handed it
    over; intake_no is 110's 接警单编号, unique: a retried push finds it) or
    `out` (the hotline sent a caller to 110 and pushed the ticket; intake_no
    arrives with 110's receipt)."""

    __tablename__ = "police_links"
    __table_args__ = (UniqueConstraint("direction", "intake_no"), UniqueConstraint("direction", "ticket_number"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3), doc="in | out")
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    ticket_number: Mapped[str] = mapped_column(String(32))
    intake_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(String(16), default="", doc="in: incident; out: transfer | conference")
    state: Mapped[str] = mapped_column(String(12), default="", doc="out: pushed | received | dispatched")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[str] = mapped_column(Text, default="", doc="110's dispatch result (处警结果)")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TicketPhoto(Base):
    """A photo a grid worker took on site or on patrol; the file lives in the
    photos folder beside the recordings, private to the service user."""

    __tablename__ = "ticket_photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    file: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Vehicle(Base):
    """A car whose owner can be reached for car moving (挪车), with the
    owner's phone verified by a one-time code."""

    __tablename__ = "vehicles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), unique=True)
    owner_phone: Mapped[str] = mapped_column(String(20))
    via: Mapped[str] = mapped_column(String(16), doc="public | agent")
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class VehicleCode(Base):
    """A registration waiting for its one-time code (hashed). A plate that
    already has an owner changes hands only with a second code, sent to that
    owner's phone (owner_phone, owner_code_hash)."""

    __tablename__ = "vehicle_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(
        String(43), unique=True, index=True, doc="what the registrant is given: unguessable"
    )
    plate: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    owner_phone: Mapped[str] = mapped_column(String(20), default="", doc="the current owner asked to consent")
    owner_code_hash: Mapped[str] = mapped_column(String(64), default="")
    via: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CarmoveBinding(Base):
    """(X, requester, owner) for a time to live: either calling X reaches the other."""

    __tablename__ = "carmove_bindings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    x: Mapped[str] = mapped_column(String(20), index=True)
    requester: Mapped[str] = mapped_column(String(20), index=True)
    owner: Mapped[str] = mapped_column(String(20))
    plate: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(100))
    agent: Mapped[str] = mapped_column(String(64))
    ticket_number: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(12), doc="calling | bridged | notified | unreached")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class CarmoveEvent(Base):
    """Every use of the car-moving service (the log the issue's limits need)."""

    __tablename__ = "carmove_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    binding_id: Mapped[int | None] = mapped_column(
        ForeignKey("carmove_bindings.id", ondelete="CASCADE"), nullable=True, index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200), default="")


class CarmoveBlacklist(Base):
    __tablename__ = "carmove_blacklist"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Briefing(Base):
    """A leaders' briefing (简报) as it was made: its contents (nothing
    personal in them) and its PDF, kept as the archive."""

    __tablename__ = "briefings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), doc="daily | weekly | monthly")
    first_day: Mapped[str] = mapped_column(String(10), index=True, doc="the first day covered, city time")
    after_day: Mapped[str] = mapped_column(String(10), doc="the day after the last one covered")
    title: Mapped[str] = mapped_column(String(64))
    # "weekly:2026-11-16" for the scheduled briefing of a period (one each);
    # NULL for those made on demand, which may be many.
    scheduled_key: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)


class ClusterTerm(Base):
    """The one row of the cluster's leadership: the current term (epoch) and
    who holds it. A new leader raises the epoch; a decision holds this row
    (FOR SHARE) while it checks that its term is still the current one."""

    __tablename__ = "cluster_term"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    node: Mapped[str] = mapped_column(String(32), default="")
    since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ClusterDecision(Base):
    """Every cluster-wide decision, once: (kind, key) is unique, so the same
    decision cannot be made twice, by two leaders or by one leader twice."""

    __tablename__ = "cluster_decisions"
    __table_args__ = (UniqueConstraint("kind", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    epoch: Mapped[int] = mapped_column(Integer, index=True)
    node: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ClusterNode(Base):
    """Each controller's heartbeat, written with the database's clock (so the
    machines' clocks never matter): a node not seen for a few heartbeats is
    down on every seat map."""

    __tablename__ = "cluster_nodes"
    node: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    leading: Mapped[bool] = mapped_column(Boolean, default=False)
    pbx_up: Mapped[bool] = mapped_column(Boolean, default=False)
    # Its queue as the leader places seats by it (cluster/placement.py NodeLoad), JSON.
    load: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class ClusterSeat(Base):
    """Where a seat takes queue calls: one node at a time, written by the leader only."""

    __tablename__ = "cluster_seats"
    seat: Mapped[str] = mapped_column(String(32), primary_key=True)
    node: Mapped[str] = mapped_column(String(32))
    epoch: Mapped[int] = mapped_column(Integer)
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    why: Mapped[str] = mapped_column(String(16))


class SeatCredential(Base):
    """A seat's SIP password while seats register at the SIP edge: one for the
    whole cluster, read by the edge (view edge_subscriber) and by the desks
    that hand it to the agent at the seat; rotated when the agent leaves."""

    __tablename__ = "seat_credentials"
    seat: Mapped[str] = mapped_column(String(32), primary_key=True)
    password: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RetentionRun(Base):
    """A run of the retention purge: what it deleted or anonymised, how many, why."""

    __tablename__ = "retention_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # schedule | the CLI's user | an admin
    # [{"what": ..., "count": n, "why": ...}], one entry per kind of data
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class QaCheck(Base):
    """The automatic quality checks of one answered call (质检), and why it was flagged."""

    __tablename__ = "qa_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    ticket: Mapped[str] = mapped_column(String(32), default="")
    agent: Mapped[str] = mapped_column(String(64), index=True)
    seat: Mapped[str] = mapped_column(String(32), default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    # quality/checks.py Checks, and who spoke when ({"agent": [[a, b], …], "caller": …})
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    speech: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    cpu_s: Mapped[float] = mapped_column(Float, default=0.0)  # the checks' own CPU time


class QaScorecard(Base):
    """The scorecard leads grade calls with (one row, id 1; edited by admins)."""

    __tablename__ = "qa_scorecard"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class QaGrade(Base):
    """A lead's grade of one call, with the scorecard's items as they were then."""

    __tablename__ = "qa_grades"
    __table_args__ = (UniqueConstraint("call_id", "grader", name="uq_qa_grades_call_grader"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    agent: Mapped[str] = mapped_column(String(64), index=True)
    grader: Mapped[str] = mapped_column(String(64))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    marks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class QaAppeal(Base):
    """An agent's one appeal against the grades of a call (申诉), and the answer."""

    __tablename__ = "qa_appeals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    agent: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | upheld | rejected
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str] = mapped_column(String(64), default="")


class TriageOutcome(Base):
    """What the desk suggested for one ticket and what the agent chose (智能分类采纳)."""

    __tablename__ = "triage_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    agent: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    version: Mapped[str] = mapped_column(String(32))
    shown: Mapped[list[str]] = mapped_column(JSON, default=list)  # the categories suggested, best first
    chosen: Mapped[str] = mapped_column(String(32), default="")
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1-3: the chosen one's place; none: not shown
    clicked: Mapped[bool] = mapped_column(Boolean, default=False)  # taken with a click on the suggestion
