"""The agent's own softphone: details and a one-time provisioning link for
the seat they are logged in at (never another seat's password)."""

from __future__ import annotations

from aiohttp import web

from hotline.acd.api import ACD, NotAtSeat
from hotline.errors import HotlineError
from hotline.roles import Role
from hotline.seats import edge_passwords
from hotline.seats.credentials import SeatCredentials
from hotline.seats.phone import PhoneDetails, ProvisioningLinks, linphone_xml, phone_details
from hotline.seats.webphone import SUBPROTOCOL, WebPhones, web_endpoint
from hotline.web.auth import USER, allow
from hotline.web.keys import SESSIONS, SETTINGS
from hotline.web.login import COOKIE
from hotline.web.origin import websocket

LINKS = web.AppKey("provisioning_links", ProvisioningLinks)
CREDENTIALS = web.AppKey("seat_credentials", SeatCredentials)
WEBPHONES = web.AppKey("webphones", WebPhones)


class MonitorsTaken(HotlineError):
    error_id = "monitors-taken"
    status = 409


class LinkInvalid(HotlineError):
    error_id = "provisioning-link-invalid"
    status = 404


async def _details(app: web.Application, seat: str) -> PhoneDetails:
    """A seat's or a monitoring phone's details: with phones registered at
    the SIP edge, the password is the one the edge checks (the same on every node)."""
    settings = app[SETTINGS]
    shared = await edge_passwords.password(app[SESSIONS], seat) if settings.seats_at_edge else None
    return phone_details(settings, seat, shared)


@allow(Role.AGENT, Role.LEAD)
async def my_phone(request: web.Request) -> web.Response:
    who = request[USER].username
    at = request.app[ACD].seat_of_agent(who)
    if at is None:
        raise NotAtSeat("您还没有在任何座席登录")
    seat = at.name
    details = await _details(request.app, seat)
    token = request.app[LINKS].issue(seat, who)
    body = details.as_dict() | {"provisioning_url": f"{request.scheme}://{request.host}/provision/{token}"}
    resp = web.json_response(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@allow(Role.PUBLIC)
async def provision(request: web.Request) -> web.Response:
    """Fetched by the softphone itself: the token is the credential, and
    only while the agent it was issued to still sits at the seat."""
    issued = request.app[LINKS].redeem(request.match_info["token"])
    at = request.app[ACD].seat_of_agent(issued[1]) if issued is not None else None
    if issued is None or at is None or at.name != issued[0]:
        raise LinkInvalid("配置链接无效、已使用或已过期，请在工作台重新获取")
    seat = issued[0]
    xml = linphone_xml(await _details(request.app, seat))
    return web.Response(text=xml, content_type="application/xml", headers={"Cache-Control": "no-store"})


@allow(Role.AGENT, Role.LEAD)
async def my_webphone(request: web.Request) -> web.Response:
    """What the desk's browser phone registers with: the agent's own seat only."""
    at = request.app[ACD].seat_of_agent(request[USER].username)
    if at is None:
        raise NotAtSeat("您还没有在任何座席登录")
    return await _webphone(request.app, at.name)


async def _webphone(app: web.Application, phone: str) -> web.Response:
    details = await _details(app, phone)
    body = {
        "seat": phone,
        "aor": f"sip:{web_endpoint(phone)}@{details.server}",
        "auth_user": details.user,
        "password": details.password,
        "ws_path": "/ws/sip",
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@allow(Role.LEAD)
async def lead_webphone(request: web.Request) -> web.Response:
    """The lead's browser phone on the seat map: a monitoring phone, rung into listen, whisper or barge."""
    settings = request.app[SETTINGS]
    phone = request.app[WEBPHONES].claim(request[USER].username, settings.seats.monitor_names())
    if phone is None:
        raise MonitorsTaken("监听话机都已被其他值班长的网页电话占用")
    return await _webphone(request.app, phone)


@allow(Role.AGENT, Role.LEAD)
async def sip_ws(request: web.Request) -> web.StreamResponse:
    """An agent's relay is their seat's; a lead away from a seat relays the monitoring phone they claimed."""
    who = request[USER]
    at = request.app[ACD].seat_of_agent(who.username)
    phone = at.name if at is not None else None
    if phone is None and Role.LEAD in who.roles:
        phone = request.app[WEBPHONES].claimed_by(who.username)
    if phone is None:
        raise NotAtSeat("您还没有在任何座席登录")
    async with websocket(request, COOKIE, protocols=(SUBPROTOCOL,)) as ws:
        await request.app[WEBPHONES].relay(ws, phone, who.username)
    return ws


def setup(app: web.Application) -> None:
    app[LINKS] = ProvisioningLinks()
    app.router.add_post("/api/agent/phone", my_phone)
    app.router.add_post("/api/agent/webphone", my_webphone)
    app.router.add_post("/api/lead/webphone", lead_webphone)
    app.router.add_get("/ws/sip", sip_ws)
    app.router.add_get("/provision/{token}", provision)
