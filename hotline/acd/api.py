"""Agents work their seat; the shift lead sets lines and standby."""

from __future__ import annotations

import json
from dataclasses import asdict

from aiohttp import web

from hotline.acd.callbacks import CallbackService
from hotline.acd.offer import CallbackOffer
from hotline.acd.service import AcdService
from hotline.errors import BadRequest, HotlineError
from hotline.roles import Role
from hotline.seats import state as st
from hotline.web.auth import USER, allow
from hotline.web.json import json_body, query_text

ACD = web.AppKey("acd", AcdService)
CALLBACKS = web.AppKey("callbacks", CallbackService)
OFFER = web.AppKey("callback-offer", CallbackOffer)


class NotAtSeat(HotlineError):
    error_id = "agent-not-logged-in"
    status = 409


def _my_seat(request: web.Request) -> str:
    seat = request.app[ACD].seat_of_agent(request[USER].username)
    if seat is None:
        raise NotAtSeat("您还没有在任何座席登录")
    return seat.name


@allow(Role.AGENT, Role.LEAD)
async def agent_state(request: web.Request) -> web.Response:
    acd = request.app[ACD]
    seat = acd.seat_of_agent(request[USER].username)
    return web.json_response(
        {
            "seat": acd.seat_view(seat).as_dict() if seat else None,
            "pause_reasons": ["break", "meal", "training", "meeting"],
        }
    )


@allow(Role.AGENT, Role.LEAD)
async def agent_login(request: web.Request) -> web.Response:
    body = await json_body(request)
    seat = body.get("seat")
    if not isinstance(seat, str):
        raise BadRequest("缺少座席 seat", field="seat")
    who = request[USER]
    standby, ready = body.get("standby", False), body.get("ready", False)
    if type(standby) is not bool or type(ready) is not bool:
        raise BadRequest(
            "standby、ready 必须是 true 或 false", field="standby" if type(standby) is not bool else "ready"
        )
    acd = request.app[ACD]
    # A lawyer's seat takes legal calls only (律师坐席), whatever seat it is.
    s = await acd.login(seat, who.username, who.display_name, standby, Role.LAWYER in who.roles)
    if not ready:  # logged in, not yet offered calls: the agent says when (就绪)
        await acd.pause_system(seat, st.NOT_READY)
        s = acd.floor.seats[seat]
    return web.json_response(acd.seat_view(s).as_dict())


@allow(Role.AGENT, Role.LEAD)
async def seat_choices(request: web.Request) -> web.Response:
    """The seats the desk's login offers: each with its name on the floor and
    whether someone sits there (who, for the agent's own seat only)."""
    acd = request.app[ACD]
    labels = acd.settings.seats.labels
    me = request[USER].username
    return web.json_response(
        {
            "seats": [
                {"seat": n, "label": labels.get(n, ""), "taken": bool(s.agent), "mine": s.agent == me}
                for n, s in acd.floor.seats.items()
            ]
        }
    )


@allow(Role.AGENT, Role.LEAD)
async def agent_ready(request: web.Request) -> web.Response:
    acd = request.app[ACD]
    return web.json_response(acd.seat_view(await acd.ready(_my_seat(request), request[USER].username)).as_dict())


@allow(Role.AGENT, Role.LEAD)
async def agent_pause(request: web.Request) -> web.Response:
    body = await json_body(request)
    reason = body.get("reason")
    if not isinstance(reason, str):
        raise BadRequest("缺少暂停原因 reason", field="reason")
    acd = request.app[ACD]
    return web.json_response(
        acd.seat_view(await acd.pause(_my_seat(request), reason, request[USER].username)).as_dict()
    )


@allow(Role.AGENT, Role.LEAD)
async def agent_end_wrapup(request: web.Request) -> web.Response:
    acd = request.app[ACD]
    return web.json_response(acd.seat_view(acd.end_wrapup(_my_seat(request), request[USER].username)).as_dict())


@allow(Role.AGENT, Role.LEAD)
async def agent_logout(request: web.Request) -> web.Response:
    await request.app[ACD].logout(_my_seat(request), request[USER].username)
    return web.json_response({"ok": True})


@allow(Role.LEAD, Role.ADMIN)
async def floor(request: web.Request) -> web.Response:
    return web.json_response(request.app[ACD].floor_view())


@allow(Role.LEAD)
async def set_lines(request: web.Request) -> web.Response:
    body = await json_body(request)
    count = body.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 999):
        raise BadRequest("count 必须是 0-999 的整数，或 null 表示恢复按排班", field="count")
    await request.app[ACD].set_lines(count, request[USER].username)
    return web.json_response(asdict(request.app[ACD].header_view().lines))


@allow(Role.LEAD)
async def set_standby(request: web.Request) -> web.Response:
    body = await json_body(request)
    active = body.get("active")
    if active is not None and not isinstance(active, bool):
        raise BadRequest("active 必须是 true、false 或 null（自动）", field="active")
    await request.app[ACD].set_standby(active, request[USER].username)
    return web.json_response(asdict(request.app[ACD].header_view().lines))


@allow(Role.LEAD)
async def set_overflow(request: web.Request) -> web.Response:
    """Whether overflow may pull this agent onto a line (the lead's policy)."""
    body = await json_body(request)
    allowed = body.get("allowed")
    if type(allowed) is not bool:
        raise BadRequest("allowed 必须是 true 或 false", field="allowed")
    agent = request.match_info["agent"]
    acd = request.app[ACD]
    if acd.seat_of_agent(agent) is None:
        raise BadRequest(f"{agent} 未登录座席", field="agent")
    await acd.set_overflow_exempt(agent, not allowed, request[USER].username)
    return web.json_response({"agent": agent, "allowed": allowed})


@allow(Role.LEAD, Role.ADMIN)
async def get_figures(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ACD].figures(), dumps=lambda o: json.dumps(o, ensure_ascii=False))


@allow(Role.LEAD, Role.ADMIN)
async def list_callbacks(request: web.Request) -> web.Response:
    return web.json_response(
        {"callbacks": await request.app[CALLBACKS].list()}, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


@allow(Role.LEAD, Role.ADMIN)
async def staffing(request: web.Request) -> web.Response:
    """排班建议: lines needed per half hour, from the last weeks; ?k= for a what-if."""
    k_text = query_text(request, "k", max_len=8) or "1"
    weeks_text = query_text(request, "weeks", max_len=2) or "4"
    try:
        k = float(k_text)
    except ValueError:
        raise BadRequest("k 是来电量的倍数，如 1.5", field="k") from None
    if not 0 < k <= 100 or k != k:
        raise BadRequest("k 必须在 0 到 100 之间", field="k")
    if not weeks_text.isascii() or not weeks_text.isdigit() or not 1 <= int(weeks_text) <= 12:
        raise BadRequest("weeks 是 1-12 周", field="weeks")
    return web.json_response(
        await request.app[ACD].staffing(k, int(weeks_text)), dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/agent/state", agent_state)
    r.add_get("/api/agent/seats", seat_choices)
    r.add_post("/api/agent/login", agent_login)
    r.add_post("/api/agent/ready", agent_ready)
    r.add_post("/api/agent/pause", agent_pause)
    r.add_post("/api/agent/wrapup/end", agent_end_wrapup)
    r.add_post("/api/agent/logout", agent_logout)
    r.add_get("/api/acd/floor", floor)
    r.add_put("/api/acd/lines", set_lines)
    r.add_put("/api/acd/standby", set_standby)
    r.add_put("/api/acd/overflow/{agent:[A-Za-z0-9_.-]{1,64}}", set_overflow)
    r.add_get("/api/acd/figures", get_figures)
    r.add_get("/api/acd/staffing", staffing)
    r.add_get("/api/acd/callbacks", list_callbacks)
