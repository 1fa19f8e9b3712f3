"""Quality inspection at the web edge: the lead's list of checked and
flagged calls with who spoke when beside the recording, an agent's own."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.errors import BadRequest
from hotline.numbers import ascii_digits
from hotline.quality.grading import Grading
from hotline.quality.service import QualityInspection
from hotline.roles import Role
from hotline.tickets.api import HANDOFF
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body, query_text, text_field
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS
from hotline.web.pages import page

QUALITY = web.AppKey("quality", QualityInspection)
GRADING = web.AppKey("grading", Grading)
CALL = "{call_id:[A-Za-z0-9._-]{1,64}}"


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


@allow(Role.AGENT, page=True)
async def my_page(request: web.Request) -> web.StreamResponse:
    return page("myquality.html")


@allow(Role.LEAD, Role.ADMIN)
async def list_checks(request: web.Request) -> web.Response:
    flagged = query_text(request, "flagged", max_len=1) == "1"
    agent = query_text(request, "agent", max_len=64) or None
    quality = request.app[QUALITY]
    checks = await quality.checks(flagged=flagged, agent=agent, limit=_limit(request))
    since = request.app[CLOCK]() - dt.timedelta(days=7)
    week, shifts = await quality.by_agent(since), await quality.by_agent(since, per_shift=True)
    graded = await request.app[GRADING].of_calls([c["call_id"] for c in checks])
    checks = [{**c, "grading": graded[c["call_id"]]} for c in checks]
    return _json({"checks": checks, "agents": week, "shifts": shifts, "timezone": request.app[SETTINGS].ivr.timezone})


@allow(Role.AGENT)
async def my_checks(request: web.Request) -> web.Response:
    me = request[USER].username
    checks = await request.app[QUALITY].checks(agent=me, limit=_limit(request))
    grades = await request.app[GRADING].mine(me)
    return _json({"checks": checks, "grades": grades, "timezone": request.app[SETTINGS].ivr.timezone})


@allow(Role.AGENT, Role.LEAD, Role.ADMIN)
async def get_scorecard(request: web.Request) -> web.Response:
    return _json({"items": [i.as_dict() for i in await request.app[GRADING].scorecard()]})


@allow(Role.ADMIN)
async def put_scorecard(request: web.Request) -> web.Response:
    body = await json_body(request)
    items = await request.app[GRADING].save_scorecard(body.get("items"), request[USER])
    return _json({"items": [i.as_dict() for i in items]})


@allow(Role.LEAD, Role.ADMIN)
async def call_grades(request: web.Request) -> web.Response:
    return _json(await request.app[GRADING].of_call(request.match_info["call_id"]))


@allow(Role.LEAD)
async def grade_call(request: web.Request) -> web.Response:
    body = await json_body(request)
    comment = text_field(body, "comment", max_len=1000, strip=True)
    return _json(
        await request.app[GRADING].grade(request.match_info["call_id"], request[USER], body.get("marks"), comment)
    )


@allow(Role.AGENT)
async def appeal(request: web.Request) -> web.Response:
    body = await json_body(request)
    reason = text_field(body, "reason", max_len=1000, required=True, strip=True)
    return _json(await request.app[GRADING].appeal(request.match_info["call_id"], request[USER], reason))


@allow(Role.LEAD)
async def answer_appeal(request: web.Request) -> web.Response:
    body = await json_body(request)
    upheld = body.get("upheld")
    if type(upheld) is not bool:
        raise BadRequest("upheld 必须是 true 或 false", field="upheld")
    answer = text_field(body, "answer", max_len=1000, strip=True)
    return _json(await request.app[GRADING].answer(request.match_info["call_id"], request[USER], upheld, answer))


async def quality_ctx(app: web.Application) -> AsyncIterator[None]:
    quality = app[QUALITY] = QualityInspection(app[SETTINGS], app[SESSIONS], app[CLOCK])
    app[HANDOFF].on_ended(quality.call_ended)
    app[GRADING] = Grading(app[SESSIONS], app[CLOCK])
    yield
    await quality.close()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(quality_ctx)
    r = app.router
    r.add_get("/lead/quality", quality_page)
    r.add_get("/quality/mine", my_page)
    r.add_get("/api/quality/checks", list_checks)
    r.add_get("/api/quality/mine", my_checks)
    r.add_get("/api/quality/scorecard", get_scorecard)
    r.add_put("/api/quality/scorecard", put_scorecard)
    r.add_get(f"/api/quality/calls/{CALL}/grades", call_grades)
    r.add_post(f"/api/quality/calls/{CALL}/grades", grade_call)
    r.add_post(f"/api/quality/calls/{CALL}/appeal", appeal)
    r.add_post(f"/api/quality/calls/{CALL}/appeal/answer", answer_appeal)
