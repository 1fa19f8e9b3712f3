"""Briefings on the web: the archive, one briefing as a page or a PDF, and
making one on demand. Leaders, leads and admins read them; only leads and
admins have ticket numbers that open the ticket (a leader reads tickets
nowhere)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from sqlalchemy import select

from hotline.briefings import render
from hotline.briefings.periods import KIND_TEXT, Kind
from hotline.briefings.schedule import BriefingSchedule
from hotline.briefings.service import Briefings
from hotline.cluster.app import FENCE
from hotline.db.models import Briefing
from hotline.errors import BadRequest, HotlineError
from hotline.numbers import FIRST_YEAR, LAST_YEAR, sane_year
from hotline.quality.api import QUALITY
from hotline.reports.api import standards_between
from hotline.roles import Role
from hotline.tickets import api as tickets_api
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body, query_text
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS
from hotline.web.pages import page
from hotline.web.throttle import RateLimit

BRIEFINGS = web.AppKey("briefings", Briefings)
READERS = (Role.LEADER, Role.LEAD, Role.ADMIN)
# What a briefing page may load: its own inline styles, nothing else.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"


class NoBriefing(HotlineError):
    error_id = "no-briefing"
    status = 404


class TooManyBriefings(HotlineError):
    error_id = "briefings-throttled"
    status = 429


# Briefings made on demand, per user: each costs seconds of CPU in child
# processes and is kept in the archive.
MADE = web.AppKey("briefings_made", RateLimit)
SCHEDULE = web.AppKey("briefing_schedule", BriefingSchedule)


async def briefings_ctx(app: web.Application) -> AsyncIterator[None]:
    svc = Briefings(
        app[SETTINGS],
        app[SESSIONS],
        app[CLOCK],
        app[tickets_api.STORE].tree,
        lambda start, end: standards_between(app, start, end),
        # Read when a briefing is made: the quality checks start after the briefings.
        lambda start, end: app[QUALITY].by_agent(start, per_shift=True, until=end),
    )
    app[BRIEFINGS] = svc
    app[MADE] = RateLimit(app[SETTINGS].briefings.on_demand_per_hour)
    schedule = app[SCHEDULE] = BriefingSchedule(svc, app[FENCE])
    schedule.start()
    yield
    await schedule.close()


def _summary(b: Briefing, tz: dt.tzinfo) -> dict[str, Any]:
    return {
        "id": b.id,
        "kind": b.kind,
        "kind_text": KIND_TEXT[Kind(b.kind)],
        "title": b.title,
        "first_day": b.first_day,
        "after_day": b.after_day,
        "scheduled": b.scheduled_key is not None,
        "created_at": b.created_at.isoformat(),
        "created_by": b.created_by,
        "created_text": b.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "total": b.data["volumes"]["total"],
        "hot_topics": [t["term"] for t in b.data["hot_topics"][:3]],
        "pdf_bytes": len(b.pdf),
    }


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise NoBriefing("没有这份简报")
    return int(raw)


async def _get(request: web.Request) -> Briefing:
    async with request.app[SESSIONS]() as db:
        b = await db.get(Briefing, _id(request))
    if b is None:
        raise NoBriefing("没有这份简报")
    return b


@allow(*READERS)
async def list_briefings(request: web.Request) -> web.Response:
    kind = query_text(request, "kind", max_len=8)
    if kind and kind not in Kind._value2member_map_:
        raise BadRequest("kind 是 daily、weekly 或 monthly", field="kind")
    q = select(Briefing).order_by(Briefing.first_day.desc(), Briefing.id.desc()).limit(200)
    if kind:
        q = q.where(Briefing.kind == kind)
    async with request.app[SESSIONS]() as db:
        rows = (await db.scalars(q)).all()
    tz = request.app[BRIEFINGS].tz
    return web.json_response({"briefings": [_summary(b, tz) for b in rows]}, dumps=dumps)


@allow(*READERS)
async def make_briefing(request: web.Request) -> web.Response:
    """On demand: {"kind": "weekly", "day": "2026-11-20"} -> the briefing of
    the period holding that day (up to now, when it has not ended)."""
    body = await json_body(request)
    kind, day = body.get("kind"), body.get("day")
    if type(kind) is not str or kind not in Kind._value2member_map_:
        raise BadRequest("kind 是 daily、weekly 或 monthly", field="kind")
    svc = request.app[BRIEFINGS]
    today = request.app[CLOCK]().astimezone(svc.tz).date()
    if day is None:
        when = today
    elif type(day) is str and len(day) == 10 and day.isascii():
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            raise BadRequest("day 的格式是 YYYY-MM-DD", field="day") from None
    else:
        raise BadRequest("day 的格式是 YYYY-MM-DD", field="day")
    if when > today:
        raise BadRequest("不能为未来的日期生成简报", field="day")
    if not sane_year(when.year):
        raise BadRequest(f"年份应在 {FIRST_YEAR}-{LAST_YEAR} 之间", field="day")
    wait = request.app[MADE].hit(request[USER].username, time.monotonic())
    if wait is not None:
        raise TooManyBriefings(
            f"每人每小时最多生成 {request.app[MADE].limit} 份简报，请 {int(wait // 60) + 1} 分钟后再试",
            retry_after=int(wait + 0.999),
        )
    b = await svc.make(svc.period_of(Kind(kind), when), by=request[USER].username)
    return web.json_response(_summary(b, svc.tz), status=201, dumps=dumps)


@allow(*READERS)
async def briefing_json(request: web.Request) -> web.Response:
    b = await _get(request)
    return web.json_response({**_summary(b, request.app[BRIEFINGS].tz), "contents": b.data}, dumps=dumps)


@allow(*READERS, page=True)
async def briefing_page(request: web.Request) -> web.Response:
    b = await _get(request)
    links = bool(request[USER].roles & {Role.LEAD, Role.ADMIN})
    text = render.html({**b.data, "id": b.id}, links=links, nav=True)
    return web.Response(
        text=text,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store", "Content-Security-Policy": _CSP},
    )


@allow(*READERS, page=True)
async def briefing_pdf(request: web.Request) -> web.Response:
    b = await _get(request)
    name = f"briefing-{b.kind}-{b.first_day}.pdf"
    return web.Response(
        body=b.pdf,
        content_type="application/pdf",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="{name}"',
            "Content-Security-Policy": "default-src 'none'",
        },
    )


@allow(*READERS, page=True)
async def archive_page(request: web.Request) -> web.StreamResponse:
    return page("briefings.html")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/briefings", list_briefings)
    app.router.add_post("/api/briefings", make_briefing)
    app.router.add_get(r"/api/briefings/{id}", briefing_json)
    app.router.add_get("/briefings", archive_page)
    app.router.add_get(r"/briefings/{id}", briefing_page)
    app.router.add_get(r"/briefings/{id}/pdf", briefing_pdf)
