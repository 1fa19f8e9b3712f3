"""The work queue's routes: an agent's items and what they do with them, the
lead's overview (with the outbox's counts)."""

from __future__ import annotations

from aiohttp import web

from hotline.channels.api import DELIVERER
from hotline.errors import BadRequest
from hotline.roles import Role
from hotline.tickets.api import STORE
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body, text_field
from hotline.work.desk import WorkDesk
from hotline.work.figures import WorkFigures
from hotline.work.service import WorkService

WORK = web.AppKey("work", WorkService)
WORK_DESK = web.AppKey("work_desk", WorkDesk)
FIGURES = web.AppKey("work_figures", WorkFigures)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


def _item(request: web.Request) -> int:
    return int(request.match_info["item"])


@allow(Role.AGENT, Role.LEAD)
async def mine(request: web.Request) -> web.Response:
    return _json({"items": [v.as_dict() for v in request.app[WORK].of_agent(request[USER].username)]})


@allow(Role.AGENT, Role.LEAD)
async def detail(request: web.Request) -> web.Response:
    return _json(await request.app[WORK_DESK].detail(request[USER], _item(request)))


@allow(Role.AGENT, Role.LEAD)
async def accept(request: web.Request) -> web.Response:
    return _json(await request.app[WORK_DESK].accept(request[USER], _item(request)))


@allow(Role.AGENT, Role.LEAD)
async def hand_back(request: web.Request) -> web.Response:
    body = await json_body(request)
    reason = text_field(body, "reason", max_len=200)
    await request.app[WORK].hand_back(request[USER].username, _item(request), reason)
    return _json({"handed_back": True})


@allow(Role.AGENT, Role.LEAD)
async def call(request: web.Request) -> web.Response:
    return _json(await request.app[WORK_DESK].call(request[USER], _item(request)))


@allow(Role.AGENT, Role.LEAD)
async def result(request: web.Request) -> web.Response:
    body = await json_body(request)
    return _json(await request.app[WORK_DESK].result(request[USER], _item(request), body))


@allow(Role.AGENT, Role.LEAD)
async def audio(request: web.Request) -> web.StreamResponse:
    path = await request.app[WORK_DESK].audio(request[USER], _item(request))
    return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "private, no-store"})


@allow(Role.LEAD, Role.ADMIN)
async def overview(request: web.Request) -> web.Response:
    app = request.app
    return _json(
        {
            **app[WORK].summary().as_dict(),
            "figures": await app[FIGURES].rolling(),
            "outbox": await app[DELIVERER].counts(),
        }
    )


@allow(Role.AGENT, Role.LEAD)
async def ticket_duplicates(request: web.Request) -> web.Response:
    return _json({"candidates": await request.app[WORK_DESK].candidates(request.match_info["number"], request[USER])})


@allow(Role.AGENT, Role.LEAD)
async def merge(request: web.Request) -> web.Response:
    body = await json_body(request)
    into = body.get("into")
    if type(into) is not str or not into.isascii() or not into.isdigit():
        raise BadRequest("into 必须是工单号", field="into")
    return _json(await request.app[STORE].merge(request.match_info["number"], into, request[USER]))


def setup(app: web.Application) -> None:
    r = app.router
    item = "/api/work/{item:[0-9]{1,12}}"
    r.add_get("/api/work", mine)
    r.add_get("/api/work/overview", overview)
    r.add_get(item, detail)
    r.add_post(item + "/accept", accept)
    r.add_post(item + "/hand-back", hand_back)
    r.add_post(item + "/call", call)
    r.add_post(item + "/result", result)
    r.add_get(item + "/audio", audio)
    r.add_get("/api/tickets/{number:[0-9]{8,20}}/duplicates", ticket_duplicates)
    r.add_post("/api/tickets/{number:[0-9]{8,20}}/merge", merge)
