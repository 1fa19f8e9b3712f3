"""Quality inspection at the web edge: the lead's list of checked and
flagged calls with who spoke when beside the recording, an agent's own."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.errors import BadRequest
from hotline.numbers import ascii_digits
from hotline.quality.service import QualityInspection
from hotline.roles import Role
from hotline.tickets.api import HANDOFF
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, query_text
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS
from hotline.web.pages import page

QUALITY = web.AppKey("quality", QualityInspection)


def _json(body: object) -> web.Response:
    return web.json_response(body, dumps=dumps)


def _limit(request: web.Request) -> int:
    text = query_text(request, "limit", max_len=3) or "50"
    if not ascii_digits(text) or not 1 <= int(text) <= 500:
        raise BadRequest("limit 应为 1-500 的整数", field="limit")
    return int(text)


@allow(Role.LEAD, Role.ADMIN, page=True)
async def quality_page(request: web.Request) -> web.StreamResponse:
    return page("quality.html")


@allow(Role.LEAD, Role.ADMIN)
async def list_checks(request: web.Request) -> web.Response:
    flagged = query_text(request, "flagged", max_len=1) == "1"
    agent = query_text(request, "agent", max_len=64) or None
    quality = request.app[QUALITY]
    checks = await quality.checks(flagged=flagged, agent=agent, limit=_limit(request))
    week = await quality.by_agent(request.app[CLOCK]() - dt.timedelta(days=7))
    return _json({"checks": checks, "agents": week, "timezone": request.app[SETTINGS].ivr.timezone})


@allow(Role.AGENT)
async def my_checks(request: web.Request) -> web.Response:
    checks = await request.app[QUALITY].checks(agent=request[USER].username, limit=_limit(request))
    return _json({"checks": checks, "timezone": request.app[SETTINGS].ivr.timezone})


async def quality_ctx(app: web.Application) -> AsyncIterator[None]:
    quality = app[QUALITY] = QualityInspection(app[SETTINGS], app[SESSIONS], app[CLOCK])
    app[HANDOFF].on_ended(quality.call_ended)
    yield
    await quality.close()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(quality_ctx)
    r = app.router
    r.add_get("/lead/quality", quality_page)
    r.add_get("/api/quality/checks", list_checks)
    r.add_get("/api/quality/mine", my_checks)
