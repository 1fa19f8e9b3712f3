"""The ACD's read models: a seat, the floor, the header, the figures; shared
by the seat map, the desk and the API."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.acd import advisor, figures
from hotline.acd import lines as ln
from hotline.acd.overflow import Overflow
from hotline.config import AcdSettings
from hotline.db.models import Callback, QueueCall
from hotline.ivr.schedule import Calendar
from hotline.seats import state as st


@dataclass(frozen=True, slots=True)
class SeatView:
    """A seat as the seat map, the desk and the API show it."""

    seat: str
    agent: str
    agent_name: str
    status: str
    pause_reason: str
    on_line: bool
    standby: bool
    since: float
    caller: str
    wrapup_until: float | None
    desynced: str | None  # why Asterisk could not be brought in step, or None
    tag: str = ""  # the legacy number the call came in on
    category: str = ""  # the IVR's category of the call
    working: str = ""  # the work item in hand, off the lines
    lawyer: bool = False  # a lawyer's seat (the lawyer queue only)
    pulled_at: float | None = None  # brought onto a line by overflow, when
    overflow_exempt: bool = False  # never pulled (policy or the lead)
    node: str = ""  # in a cluster: the node whose queue holds the seat

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LinesView:
    window: str
    scheduled: int
    target: int
    override: int | None
    standby_active: bool
    standby_reason: str
    staffed: int
    standby_on: int = 0  # standby agents on a line now
    overflow: int = 0  # agents overflow has on the lines now
    overflow_reason: str = ""
    by: str = ""  # who set the count: "" the schedule, "lead", "plan"


@dataclass(frozen=True, slots=True)
class HeaderView:
    """Lines and waiting callers."""

    lines: LinesView
    waiting: int
    longest_wait_s: float

    def as_dict(self) -> dict[str, Any]:
        return {"lines": asdict(self.lines), "waiting": {"count": self.waiting, "longest_s": self.longest_wait_s}}


class AcdViews:
    """The AcdService's views (a base class: they read its state)."""

    acd: AcdSettings
    floor: st.Floor
    calendar: Calendar
    sessions: async_sessionmaker
    clock: Callable[[], dt.datetime]
    now: Callable[[], float]
    drain: Callable[[], Awaitable[None]]
    overflow: Overflow
    overflow_exempt: frozenset[str]
    placed_on: dict[str, str]

    async def figures(self) -> dict[str, Any]:
        await self.drain()
        now = self.now()
        async with self.sessions() as db:
            all_rows = (await db.scalars(select(QueueCall).where(QueueCall.joined_at >= now - figures.WINDOW_S))).all()
            made = await db.scalar(
                select(func.count())
                .select_from(Callback)
                .where(Callback.created_at >= now - figures.WINDOW_S, Callback.attempts > 0)
            )
            reached = await db.scalar(
                select(func.count())
                .select_from(Callback)
                .where(Callback.created_at >= now - figures.WINDOW_S, Callback.status == "reached")
            )
        # A callback waits in the queue as a placeholder; it is not a call offered.
        every = [r for r in all_rows if r.callback_id is None]
        # Lawyers' calls are counted apart: the hotline's own figures are its queue's.
        rows = [r for r in every if r.queue != self.acd.lawyer_queue]
        legal = [r for r in every if r.queue == self.acd.lawyer_queue]
        callbacks = (made or 0, reached or 0)
        return {
            "window_hours": 24,
            "total": figures.compute(rows, callbacks).as_dict(),
            "lawyers": {
                **figures.compute(legal).as_dict(),
                "waiting": len(self.lawyer_waiting),
                "logged_in": sum(1 for s in self.floor.seats.values() if s.lawyer),
            },
            "by_seat": {k: v.as_dict() for k, v in figures.by(rows, "seat").items()},
            "by_tag": {k: v.as_dict() for k, v in figures.by(rows, "tag").items()},
            "by_queue": {k: v.as_dict() for k, v in figures.by(every, "queue").items()},
            "hourly": figures.hourly(rows, now),
        }

    async def staffing(self, k: float = 1.0, weeks: int = 4) -> dict[str, Any]:
        """The advisor's table for today: arrivals from the last weeks, × k."""
        await self.drain()
        now = self.now()
        async with self.sessions() as db:
            rows = (await db.scalars(select(QueueCall).where(QueueCall.joined_at >= now - weeks * 7 * 86400))).all()
        history = advisor.summarise(rows, self.acd.queue, now, weeks * 7, self.calendar)
        today = self.calendar.local(self.clock()).date()
        return {
            "k": k,
            "weeks": weeks,
            "calls": history.calls,
            "handle_s": round(history.handle_s, 1),
            "patience_s": round(history.patience_s, 1) if history.patience_s else None,
            "span_days": round(history.span_days, 2),
            "enough": history.enough,
            "basis": history.basis(self.calendar),
            "targets": {"service_level": 0.8, "within_s": 15, "connection_rate": 0.95},
            "slots": advisor.advise(history, self.acd, self.calendar, today, k),
        }

    def seat_view(self, s: st.Seat) -> SeatView:
        info = self._call_info.get(s.interface, {})
        return SeatView(
            seat=s.name,
            agent=s.agent,
            agent_name=s.agent_name,
            status=s.status().value,
            pause_reason=s.queue_pause(),
            on_line=s.on_line,
            standby=s.standby,
            since=s.since,
            caller=s.caller,
            wrapup_until=s.wrapup_until,
            desynced=self.desynced.get(s.name),
            tag=info.get("tag", ""),
            category=info.get("category", ""),
            working=s.working,
            lawyer=s.lawyer,
            pulled_at=next((p.at for p in self.overflow.pulled if p.seat == s.name), None),
            overflow_exempt=bool(s.agent) and (s.agent in self.overflow_exempt or s.agent in self.acd.overflow.exempt),
            node=self.placed_on.get(s.name, "") if s.agent else "",
        )

    def seat_of_agent(self, agent: str) -> st.Seat | None:
        return self.floor.seat_of_agent(agent)

    def seat_at(self, interface: str) -> st.Seat | None:
        return self.floor.at_interface(interface)

    def seat_named(self, name: str) -> st.Seat:
        return self.floor.seat(name)

    def seat_views(self) -> list[SeatView]:
        return [self.seat_view(s) for s in self.floor.seats.values()]

    def seat_items(self) -> Iterator[tuple[str, st.Seat, str | None]]:
        """(name, seat state, why it is out of step): seat states are immutable,
        so a reader can tell an unchanged seat by identity alone."""
        for name, s in self.floor.seats.items():
            yield name, s, self.desynced.get(name)

    def layout(self) -> dict[str, Any]:
        """How the floor is drawn: seats per row and the names on the floor."""
        seats = self.settings.seats
        return {"columns": seats.columns, "labels": seats.labels}

    def floor_view(self) -> dict[str, Any]:
        """The whole floor for the API (/api/acd/floor) and /metrics."""
        return {
            **self.header_view().as_dict(),
            "seats": [v.as_dict() for v in self.seat_views()],
            "changes": self.recent_changes(50),
        }

    def recent_changes(self, n: int) -> list[dict[str, Any]]:
        return [asdict(c) for c in list(itertools.islice(reversed(self.changes), n))[::-1]]

    def header_view(self) -> HeaderView:
        """Lines and waiting callers: cheap, for callers who track seats themselves."""
        now = self.now()
        lines = self.lines
        return HeaderView(
            lines=LinesView(
                window=lines.window,
                scheduled=lines.scheduled,
                target=lines.target,
                override=lines.override,
                standby_active=lines.standby_active,
                standby_reason=lines.standby_reason,
                # Lawyers take the lawyer queue, not a phone line (the map counts them apart).
                staffed=sum(1 for s in self.floor.seats.values() if s.on_line and not s.lawyer),
                standby_on=sum(1 for s in self.floor.seats.values() if s.standby and s.on_line),
                overflow=len(self.overflow.pulled),
                overflow_reason=self.overflow.reason if self.overflow.pulled else "",
                by="lead" if ln.lead_override(lines) else "plan" if lines.plan is not None else "",
            ),
            waiting=len(self.waiting),
            longest_wait_s=round(max((now - t for t in self.waiting.values()), default=0.0), 1),
        )
