"""Contingency plans on the web: the catalogue and the running plan for the
lead (one switch on the seat map), the pinned articles for every desk."""

from __future__ import annotations

from aiohttp import web

from hotline.errors import BadRequest
from hotline.plans import rules
from hotline.plans.service import PlanService
from hotline.roles import Role
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body
from hotline.web.keys import SETTINGS
from hotline.web.pages import page

PLANS = web.AppKey("plans", PlanService)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


def _reason(body: dict[str, object]) -> str:
    reason = body.get("reason", "")
    if type(reason) is not str or len(reason) > 200:
        raise BadRequest("reason 是 200 字以内的说明", field="reason")
    return reason.strip()


@allow(Role.LEAD, Role.ADMIN)
async def listing(request: web.Request) -> web.Response:
    svc = request.app[PLANS]
    return _json(
        {
            "plans": svc.catalogue(),
            "active": svc.view(),
            "runs": await svc.runs(20),
            "knobs": rules.KNOB_TEXT,
            "timezone": request.app[SETTINGS].ivr.timezone,
        }
        | (await svc.book.choices() if Role.ADMIN in request[USER].roles else {})
    )


@allow(Role.AGENT, Role.LAWYER, Role.LEAD, Role.ADMIN)
async def current(request: web.Request) -> web.Response:
    svc = request.app[PLANS]
    return _json({"active": svc.view(), "pinned": await svc.pinned()})


@allow(Role.LEAD)
async def start(request: web.Request) -> web.Response:
    body = await json_body(request)
    who = request[USER]
    got = await request.app[PLANS].start(request.match_info["code"], who.username, _reason(body))
    return _json(got, status=201)


@allow(Role.LEAD)
async def end(request: web.Request) -> web.Response:
    body = await json_body(request)
    return _json(await request.app[PLANS].end(request[USER].username, _reason(body)))


@allow(Role.ADMIN, page=True)
async def plans_page(request: web.Request) -> web.StreamResponse:
    return page("plans.html")


@allow(Role.ADMIN)
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    return _json(await request.app[PLANS].prepare(body, request[USER].username, None), status=201)


@allow(Role.ADMIN)
async def edit(request: web.Request) -> web.Response:
    body = await json_body(request)
    return _json(await request.app[PLANS].prepare(body, request[USER].username, request.match_info["code"]))


@allow(Role.ADMIN)
async def remove(request: web.Request) -> web.Response:
    await request.app[PLANS].discard(request.match_info["code"], request[USER].username)
    return _json({"deleted": request.match_info["code"]})


def setup(app: web.Application) -> None:
    r = app.router
    code = "{code:[a-z0-9][a-z0-9-]{0,31}}"
    r.add_get("/admin/plans", plans_page)
    r.add_get("/api/plans", listing)
    r.add_post("/api/plans", create)
    r.add_put(f"/api/plans/{code}", edit)
    r.add_delete(f"/api/plans/{code}", remove)
    r.add_get("/api/plans/current", current)
    r.add_post("/api/plans/{code:[a-z0-9][a-z0-9-]{0,31}}/start", start)
    r.add_post("/api/plans/end", end)
