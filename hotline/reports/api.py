"""The standards report's route and page (leads, admins): a day or a month
in the city's time, read from the same records as the seat map."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.acd.api import ACD
from hotline.db.models import Callback, PlanRun, QueueCall, Ticket, WorkItem
from hotline.errors import BadRequest
from hotline.numbers import FIRST_YEAR, LAST_YEAR, sane_year
from hotline.pbx.app import PBX_WATCH
from hotline.reports.standards import Targets, report
from hotline.roles import Role
from hotline.web.auth import allow
from hotline.web.json import dumps, query_text
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS
from hotline.web.pages import page


def period(day: str, month: str, tz: zoneinfo.ZoneInfo, today: dt.date) -> tuple[dt.datetime, dt.datetime, str]:
    try:
        if month:
            y, m = (int(x) for x in month.split("-"))
            if not sane_year(y):
                raise BadRequest(f"年份应在 {FIRST_YEAR}-{LAST_YEAR} 之间", field="month")
            first = dt.datetime(y, m, 1, tzinfo=tz)
            after = dt.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=tz)
            return first, after, f"{y:04d}-{m:02d}"
        d = dt.date.fromisoformat(day) if day else today
    except ValueError:
        raise BadRequest("day 的格式是 YYYY-MM-DD，month 的格式是 YYYY-MM", field="day" if day else "month") from None
    if not sane_year(d.year):
        raise BadRequest(f"年份应在 {FIRST_YEAR}-{LAST_YEAR} 之间", field="day")
    start = dt.datetime.combine(d, dt.time(), tzinfo=tz)
    return start, start + dt.timedelta(days=1), d.isoformat()


async def standards_from(
    sessions: async_sessionmaker[AsyncSession],
    queue: str,
    start: dt.datetime,
    end: dt.datetime,
    outages: list[tuple[float, float]],
) -> dict[str, Any]:
    """The standards report from start to end, read from the seat map's own
    records (the briefings show the same figures)."""
    a, b = start.timestamp(), end.timestamp()
    async with sessions() as db:
        calls = (await db.scalars(select(QueueCall).where(QueueCall.joined_at >= a, QueueCall.joined_at < b))).all()
        callbacks = (
            await db.scalars(select(Callback).where(Callback.created_at >= a, Callback.created_at < b + 86400))
        ).all()
        items = (
            await db.scalars(
                select(WorkItem).where(WorkItem.kind == "intake", WorkItem.created_at >= a, WorkItem.created_at < b)
            )
        ).all()
        scores = (
            await db.scalars(
                select(Ticket.satisfaction).where(
                    Ticket.created_at >= start, Ticket.created_at < end, Ticket.satisfaction.is_not(None)
                )
            )
        ).all()
        runs = (
            await db.scalars(
                select(PlanRun).where(PlanRun.started_at >= start, PlanRun.started_at < end).order_by(PlanRun.id)
            )
        ).all()
    out: dict[str, Any] = report(
        calls, callbacks, items, [s for s in scores if s is not None], a, b, queue, outages, Targets()
    )
    # Contingency plans started in the period: which, when, by whom and why, and how long they ran.
    out["plans"] = [
        {
            "name": r.name,
            "started_text": r.started_at.astimezone(start.tzinfo).strftime("%m-%d %H:%M"),
            "started_by": r.started_by,
            "reason": r.reason,
            "minutes": round((r.ended_at - r.started_at).total_seconds() / 60) if r.ended_at else None,
        }
        for r in runs
    ]
    if out["figures"][0].get("worst_window"):
        w = out["figures"][0]["worst_window"]
        w["start_text"] = dt.datetime.fromtimestamp(w["start"], start.tzinfo).strftime("%Y-%m-%d %H:%M")
    return out


async def standards_between(app: web.Application, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """The report as the controller has it: the ACD's pending writes in, the PBX's last outage left out."""
    await app[ACD].drain()
    outage = app[PBX_WATCH].view().get("last_outage")
    outages = [(outage["down_at"], outage["up_at"])] if outage else []
    return await standards_from(app[SESSIONS], app[SETTINGS].acd.queue, start, end, outages)


@allow(Role.LEAD, Role.ADMIN)
async def standards(request: web.Request) -> web.Response:
    app = request.app
    tz = zoneinfo.ZoneInfo(app[SETTINGS].ivr.timezone)
    start, end, label = period(
        query_text(request, "day", max_len=10),
        query_text(request, "month", max_len=7),
        tz,
        app[CLOCK]().astimezone(tz).date(),
    )
    out = await standards_between(app, start, end)
    out["period"] = label
    return web.json_response(out, dumps=dumps)


@allow(Role.LEAD, Role.ADMIN, page=True)
async def standards_page(request: web.Request) -> web.StreamResponse:
    return page("standards.html")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/reports/standards", standards)
    app.router.add_get("/reports/standards", standards_page)
