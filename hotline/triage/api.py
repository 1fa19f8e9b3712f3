"""Triage suggestions at the web edge: the desk's suggestions while the agent
types, what the agent then chose, the model's versions and figures for
leads and admins, a retrain now, and the daily retrain in the controller."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.daily import daily
from hotline.errors import BadRequest
from hotline.roles import Role
from hotline.tasks import TaskSet
from hotline.tickets.api import STORE
from hotline.triage.outcomes import Outcomes
from hotline.triage.service import Triage
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body, text_field
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS

TRIAGE = web.AppKey("triage", Triage)
OUTCOMES = web.AppKey("triage_outcomes", Outcomes)


def _json(body: object) -> web.Response:
    return web.json_response(body, dumps=dumps)


@allow(Role.AGENT, Role.LAWYER, Role.LEAD)
async def suggest(request: web.Request) -> web.Response:
    body = await json_body(request)
    content = text_field(body, "content", max_len=4000)
    address = text_field(body, "address", max_len=256)
    district = text_field(body, "district", max_len=32)
    got = await request.app[TRIAGE].suggest(content, address, district)
    return _json(got.as_dict())


@allow(Role.AGENT, Role.LAWYER, Role.LEAD)
async def outcome(request: web.Request) -> web.Response:
    body = await json_body(request)
    number = text_field(body, "ticket", max_len=32, required=True)
    version = text_field(body, "version", max_len=32)
    shown = body.get("shown", [])
    if type(shown) is not list or len(shown) > 3 or any(type(c) is not str or len(c) > 32 for c in shown):
        raise BadRequest("shown 应为至多 3 个分类代码", field="shown")
    clicked = body.get("clicked", False)
    if type(clicked) is not bool:
        raise BadRequest("clicked 必须是 true 或 false", field="clicked")
    got = await request.app[OUTCOMES].record(number, request[USER].username, version, shown, clicked)
    return _json(got)


@allow(Role.LEAD, Role.ADMIN)
async def overview(request: web.Request) -> web.Response:
    s = request.app[SETTINGS]
    triage = request.app[TRIAGE]
    now = request.app[CLOCK]()
    return _json(
        {
            "enabled": s.triage.enabled,
            "schedule": s.triage.retrain_at if s.triage.schedule else None,
            "timezone": s.ivr.timezone,
            "current": triage.current(),
            "versions": triage.versions(),
            "latency_ms": triage.latency(),
            "today": await request.app[OUTCOMES].figures(now - dt.timedelta(days=1)),
            "week": await request.app[OUTCOMES].figures(now - dt.timedelta(days=7)),
        }
    )


@allow(Role.ADMIN)
async def retrain(request: web.Request) -> web.Response:
    got = await request.app[TRIAGE].retrain(request[USER].username)
    return _json(got)


async def triage_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[SETTINGS]
    triage = app[TRIAGE] = Triage(s, app[SESSIONS], app[CLOCK], app[STORE].tree)
    app[OUTCOMES] = Outcomes(app[SESSIONS], app[CLOCK])
    triage.start()
    tasks = TaskSet("triage")
    if s.triage.schedule:
        actor = f"schedule@{s.cluster.node}" if s.cluster.node else "schedule"
        tasks.spawn(
            daily("triage retrain", s.triage.retrain_at, s.ivr.timezone, app[CLOCK], lambda: triage.retrain(actor)),
            name="triage-daily",
        )
    yield
    await tasks.close(grace=0.0)
    await triage.close()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(triage_ctx)
    r = app.router
    r.add_post("/api/triage/suggest", suggest)
    r.add_post("/api/triage/outcome", outcome)
    r.add_get("/api/triage", overview)
    r.add_post("/api/triage/retrain", retrain)
