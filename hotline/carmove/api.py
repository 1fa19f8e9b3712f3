"""Car moving's routes: vehicle registration (public page and desk, both
verified by a code sent to the owner's phone), the desk's request while
the requester is on the line, and the lead's log and blacklist."""

from __future__ import annotations

from aiohttp import web

from hotline.carmove.errors import CarmoveRefused
from hotline.carmove.registry import VehicleRegistry
from hotline.carmove.service import CarMoveService
from hotline.roles import Role
from hotline.tickets.api import HANDOFF
from hotline.tickets.calls import NotInCall
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body
from hotline.web.pages import page
from hotline.web.throttle import RateLimit, throttle

CARMOVE = web.AppKey("carmove", CarMoveService)
REGISTRY = web.AppKey("carmove_registry", VehicleRegistry)
REGISTERING = web.AppKey("carmove_registering", RateLimit)
VERIFYING = web.AppKey("carmove_verifying", RateLimit)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


def _on(request: web.Request) -> CarMoveService:
    svc = request.app[CARMOVE]
    if not svc.cfg.pool:
        raise CarmoveRefused("挪车服务未开通（未配置中间号 carmove.pool）")
    return svc


def _registry(request: web.Request) -> VehicleRegistry:
    _on(request)
    return request.app[REGISTRY]


@allow(Role.PUBLIC)
async def public_register(request: web.Request) -> web.Response:
    registry = _registry(request)
    throttle(request, REGISTERING, "操作过于频繁，请稍后再试")
    body = await json_body(request)
    return _json(await registry.start(body.get("plate"), body.get("phone"), "public"), status=201)


@allow(Role.PUBLIC)
async def public_verify(request: web.Request) -> web.Response:
    registry = _registry(request)
    throttle(request, VERIFYING, "操作过于频繁，请稍后再试")
    body = await json_body(request)
    return _json(await registry.verify(body.get("registration"), body.get("code"), body.get("owner_code")))


@allow(Role.AGENT, Role.LEAD)
async def desk_register(request: web.Request) -> web.Response:
    """An agent registers the caller's car; the caller reads back the code."""
    body = await json_body(request)
    return _json(await _registry(request).start(body.get("plate"), body.get("phone"), "agent"), status=201)


@allow(Role.AGENT, Role.LEAD)
async def desk_verify(request: web.Request) -> web.Response:
    body = await json_body(request)
    return _json(await _registry(request).verify(body.get("registration"), body.get("code"), body.get("owner_code")))


@allow(Role.AGENT, Role.LEAD)
async def move_request(request: web.Request) -> web.Response:
    svc = _on(request)
    body = await json_body(request)
    who = request[USER]
    call = request.app[HANDOFF].call_of(who.username)
    if call is None or not call.caller_channel:
        raise NotInCall("挪车需要在与求助人通话时发起")
    return _json(await svc.request(who, call, body.get("plate"), body.get("location")), status=201)


@allow(Role.AGENT, Role.LEAD, Role.ADMIN)
async def binding(request: web.Request) -> web.Response:
    who = request[USER]
    # An agent sees the bindings they asked for; the lead and admins all.
    mine = None if who.roles & {Role.LEAD, Role.ADMIN} else who.username
    return _json(await request.app[CARMOVE].view(int(request.match_info["id"]), agent=mine))


@allow(Role.LEAD, Role.ADMIN)
async def overview(request: web.Request) -> web.Response:
    return _json(await request.app[CARMOVE].recent())


@allow(Role.LEAD, Role.ADMIN)
async def bar(request: web.Request) -> web.Response:
    body = await json_body(request)
    await request.app[CARMOVE].bar(body.get("number"), body.get("reason"), request[USER])
    return _json({"ok": True}, status=201)


@allow(Role.LEAD, Role.ADMIN)
async def unbar(request: web.Request) -> web.Response:
    await request.app[CARMOVE].unbar(request.match_info["number"], request[USER])
    return _json({"ok": True})


@allow(Role.LEAD, Role.ADMIN, page=True)
async def carmove_page(request: web.Request) -> web.StreamResponse:
    return page("carmove.html")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/public/vehicles", public_register)
    r.add_post("/api/public/vehicles/verify", public_verify)
    r.add_post("/api/carmove/vehicles", desk_register)
    r.add_post("/api/carmove/vehicles/verify", desk_verify)
    r.add_post("/api/carmove/requests", move_request)
    r.add_get("/api/carmove", overview)
    r.add_get("/api/carmove/{id:[0-9]{1,12}}", binding)
    r.add_post("/api/carmove/blacklist", bar)
    r.add_delete("/api/carmove/blacklist/{number:[0-9]{5,20}}", unbar)
    r.add_get("/carmove", carmove_page)
