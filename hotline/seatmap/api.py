"""Seat map page, its websocket, and the shift lead's actions on a seat."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd.api import ACD
from hotline.ami.client import AMIClient
from hotline.errors import BadRequest, HotlineError
from hotline.pbx.app import PBX_WATCH, TRUNKS
from hotline.roles import Role
from hotline.seatmap.hub import RESYNC, SeatMapHub
from hotline.web.auth import USER, allow
from hotline.web.json import json_body, text_field
from hotline.web.keys import AMI, SETTINGS
from hotline.web.login import COOKIE
from hotline.web.origin import websocket
from hotline.web.pages import page
from hotline.web.ws import feed

log = logging.getLogger(__name__)

HUB = web.AppKey("seatmap_hub", SeatMapHub)
SPY_AMI = web.AppKey("seatmap_ami", AMIClient)

# ChanSpy options: q quiet (no beep, no name), E end with the spied call,
# w whisper to the agent only, B barge: talk to both.
SPY_OPTIONS = {"listen": "qE", "whisper": "qwE", "barge": "qBE"}
SPY_TEXT = {"listen": "监听", "whisper": "耳语", "barge": "强插"}


class NoLeadPhone(HotlineError):
    error_id = "lead-not-at-seat"
    status = 409


class SeatIdle(HotlineError):
    error_id = "seat-not-in-call"
    status = 409


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
    """Listen, whisper or barge: the lead's own seat phone rings into ChanSpy."""
    body = await json_body(request)
    mode = body.get("mode")
    if type(mode) is not str or mode not in SPY_OPTIONS:
        raise BadRequest("mode 必须是 listen、whisper 或 barge", field="mode")
    acd = request.app[ACD]
    target = acd.seat_named(request.match_info["seat"])
    if not target.talking:
        raise SeatIdle(f"座席 {target.name} 当前没有通话")
    who = request[USER]
    mine = acd.seat_of_agent(who.username)
    if mine is None:
        raise NoLeadPhone("请先在一个座席登录，监听时会呼叫该座席的话机")
    settings = request.app[SETTINGS]
    # ChanSpy matches a channel name prefix: the target seat's phone channel.
    prefix = f"Local/{target.name}@sim-seat" if settings.seats.phones == "simulated" else f"PJSIP/{target.name}"
    phone = settings.seats.interface(mine.name)
    await request.app[SPY_AMI].action(
        "Originate",
        Channel=phone,
        Application="ChanSpy",
        Data=f"{prefix},{SPY_OPTIONS[mode]}",
        CallerID=f'"{SPY_TEXT[mode]} {target.name}" <{target.name}>',
        Async="true",
        Timeout=30000,
    )
    acd.note("spy", target.name, f"{who.display_name}{SPY_TEXT[mode]}（话机 {mine.name}）", who.username)
    return web.json_response({"mode": mode, "seat": target.name, "phone": mine.name})


@allow(Role.LEAD, Role.ADMIN)
async def actions_log(request: web.Request) -> web.Response:
    return web.json_response({"changes": request.app[ACD].recent_changes(50)}, dumps=_dumps)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/lead/seatmap", seatmap_page)
    r.add_get("/ws/seatmap", seatmap_ws)
    r.add_post("/api/lead/seats/{seat}/{action:ready|pause|logout}", force)
    r.add_post("/api/lead/seats/{seat}/spy", spy)
    r.add_get("/api/lead/log", actions_log)


async def seatmap_ctx(app: web.Application) -> AsyncIterator[None]:
    hub = SeatMapHub(app[ACD], pbx=app[PBX_WATCH], trunks=app[TRUNKS])
    app[HUB] = hub
    app[SPY_AMI] = app[AMI]
    hub.start()
    yield
    await hub.close()
