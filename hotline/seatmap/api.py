"""Seat map page, its websocket, and the shift lead's actions on a seat."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd.api import ACD
from hotline.pbx.app import PBX_WATCH, TRUNKS
from hotline.roles import Role
from hotline.seatmap.hub import RESYNC, SeatMapHub
from hotline.seatmap.supervision import Supervision
from hotline.web.auth import USER, allow
from hotline.web.json import json_body, text_field
from hotline.web.keys import AMI, SETTINGS
from hotline.web.login import COOKIE
from hotline.web.origin import websocket
from hotline.web.pages import page
from hotline.web.ws import feed

log = logging.getLogger(__name__)

HUB = web.AppKey("seatmap_hub", SeatMapHub)
SUPERVISION = web.AppKey("seatmap_supervision", Supervision)


def _dumps(o: object) -> str:
    return json.dumps(o, ensure_ascii=False)


@allow(Role.LEAD, Role.ADMIN, page=True)
async def seatmap_page(request: web.Request) -> web.StreamResponse:
    return page("seatmap.html")


@allow(Role.LEAD, Role.ADMIN)
async def seatmap_ws(request: web.Request) -> web.StreamResponse:
    async with websocket(request, COOKIE) as ws:
        hub = request.app[HUB]
        viewer = hub.join()

        async def send(frame: str) -> bool:
            if frame == RESYNC:  # this viewer fell behind: a fresh snapshot instead
                viewer.resync = False
                frame = _dumps(hub.snapshot())
            await ws.send_str(frame)
            return True

        viewer.resync = False
        await feed(ws, _dumps(hub.snapshot()), viewer.queue, send, lambda: hub.leave(viewer))
    return ws


@allow(Role.LEAD)
async def force(request: web.Request) -> web.Response:
    seat, action = request.match_info["seat"], request.match_info["action"]
    acd = request.app[ACD]
    who = request[USER].username
    if action == "ready":
        s = await acd.ready(seat, who)
    elif action == "pause":
        body = await json_body(request)
        s = await acd.pause(seat, text_field(body, "reason", max_len=32), who)
    elif action == "logout":
        await acd.logout(seat, who)
        s = acd.seat_named(seat)
    else:
        raise web.HTTPNotFound()
    acd.note("lead", seat, f"值班长强制{ {'ready': '就绪', 'pause': '暂停', 'logout': '退出'}[action] }", who)
    return web.json_response(acd.seat_view(s).as_dict(), dumps=_dumps)


@allow(Role.LEAD)
async def spy(request: web.Request) -> web.Response:
    """Listen, whisper or barge: the lead's monitoring phone rings into ChanSpy."""
    body = await json_body(request)
    found = await request.app[SUPERVISION].start(
        request[USER], request.match_info["seat"], body.get("mode"), body.get("phone")
    )
    return web.json_response(found.as_dict(), dumps=_dumps)


@allow(Role.LEAD)
async def stop_spy(request: web.Request) -> web.Response:
    await request.app[SUPERVISION].stop(request[USER], request.match_info["phone"])
    return web.json_response({"phone": request.match_info["phone"], "stopped": True})


@allow(Role.LEAD, Role.ADMIN)
async def monitors(request: web.Request) -> web.Response:
    return web.json_response({"phones": request.app[SUPERVISION].phones()}, dumps=_dumps)


@allow(Role.LEAD, Role.ADMIN)
async def actions_log(request: web.Request) -> web.Response:
    return web.json_response({"changes": request.app[ACD].recent_changes(50)}, dumps=_dumps)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/lead/seatmap", seatmap_page)
    r.add_get("/ws/seatmap", seatmap_ws)
    r.add_post("/api/lead/seats/{seat}/{action:ready|pause|logout}", force)
    r.add_post("/api/lead/seats/{seat}/spy", spy)
    r.add_get("/api/lead/monitors", monitors)
    r.add_post("/api/lead/monitors/{phone:monitor[0-9]{2}}/stop", stop_spy)
    r.add_get("/api/lead/log", actions_log)


async def seatmap_ctx(app: web.Application) -> AsyncIterator[None]:
    hub = SeatMapHub(app[ACD], pbx=app[PBX_WATCH], trunks=app[TRUNKS])
    app[HUB] = hub
    supervision = Supervision(app[SETTINGS], app[AMI], app[ACD])
    app[SUPERVISION] = supervision
    hub.attach_supervision(supervision)
    hub.start()
    yield
    await hub.close()
