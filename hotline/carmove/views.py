"""Car moving's read models and the reads behind them: one binding with its
log for the desk, the recent ones, the month's count and the blacklist for
the lead. Numbers are only ever shown masked."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.carmove.errors import Unregistered
from hotline.carmove.pool import month_start
from hotline.config import CarMoveSettings
from hotline.db.models import CarmoveBinding, CarmoveBlacklist, CarmoveEvent
from hotline.jsonout import ReadModel
from hotline.numbers import mask_number

STATE_TEXT = {
    "calling": "呼叫车主中",
    "bridged": "已接通双方",
    "notified": "车主已收到通知",
    "unreached": "车主未接通",
    "failed": "未能呼叫车主",
}


@dataclass(frozen=True, slots=True)
class LogLine(ReadModel):
    at: dt.datetime
    kind: str
    note: str


@dataclass(frozen=True, slots=True)
class BindingView(ReadModel):
    id: int
    x: str
    plate: str
    location: str
    state: str
    state_text: str
    requester: str  # masked
    owner: str  # masked
    agent: str
    ticket: str
    created_at: dt.datetime
    expires_at: dt.datetime
    active: bool
    events: tuple[LogLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Barred(ReadModel):
    number: str  # masked
    reason: str
    added_by: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class CarmoveOverview(ReadModel):
    bindings: tuple[BindingView, ...]
    this_month: int
    pool: tuple[str, ...]
    ttl_minutes: float
    monthly_limit: int
    blacklist: tuple[Barred, ...]


def binding_view(b: CarmoveBinding, now: dt.datetime, events: tuple[LogLine, ...] = ()) -> BindingView:
    return BindingView(
        b.id,
        b.x,
        b.plate,
        b.location,
        b.state,
        STATE_TEXT.get(b.state, b.state),
        mask_number(b.requester),
        mask_number(b.owner),
        b.agent,
        b.ticket_number,
        b.created_at,
        b.expires_at,
        b.expires_at > now,
        events,
    )


class CarmoveViews:
    """The CarMoveService's reads (a base class: they use its sessions and clock)."""

    cfg: CarMoveSettings
    sessions: async_sessionmaker
    clock: Callable[[], dt.datetime]
    tz: zoneinfo.ZoneInfo

    async def view(self, binding: int, agent: str | None = None) -> BindingView:
        """One binding and its log; `agent` limits it to the agent who asked
        for it (an agent has no business with another's car moving)."""
        async with self.sessions() as db:
            b = await db.get(CarmoveBinding, binding)
            events = (
                await db.scalars(
                    select(CarmoveEvent).where(CarmoveEvent.binding_id == binding).order_by(CarmoveEvent.id)
                )
            ).all()
        if b is None or (agent is not None and b.agent != agent):
            raise Unregistered("没有这个挪车记录")
        return binding_view(b, self.clock(), tuple(LogLine(e.at, e.kind, e.note) for e in events))

    async def recent(self, limit: int = 100) -> CarmoveOverview:
        now = self.clock()
        async with self.sessions() as db:
            rows = (await db.scalars(select(CarmoveBinding).order_by(CarmoveBinding.id.desc()).limit(limit))).all()
            month = await db.scalar(
                select(func.count())
                .select_from(CarmoveBinding)
                .where(CarmoveBinding.created_at >= month_start(now, self.tz).astimezone(dt.timezone.utc))
            )
            barred = (await db.scalars(select(CarmoveBlacklist).order_by(CarmoveBlacklist.at.desc()))).all()
        return CarmoveOverview(
            tuple(binding_view(b, now) for b in rows),
            month or 0,
            tuple(self.cfg.pool),
            self.cfg.ttl_minutes,
            self.cfg.monthly_limit,
            tuple(Barred(mask_number(b.number), b.reason, b.added_by, b.at) for b in barred),
        )
