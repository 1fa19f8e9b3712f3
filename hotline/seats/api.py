"""The agent's own softphone: details and a one-time provisioning link for
the seat they are logged in at (never another seat's password)."""

from __future__ import annotations

from aiohttp import web

from hotline.acd.api import ACD, NotAtSeat
from hotline.errors import HotlineError
from hotline.roles import Role
from hotline.seats.credentials import SeatCredentials
from hotline.seats.phone import ProvisioningLinks, linphone_xml, phone_details
from hotline.web.auth import USER, allow
from hotline.web.keys import SETTINGS

LINKS = web.AppKey("provisioning_links", ProvisioningLinks)
CREDENTIALS = web.AppKey("seat_credentials", SeatCredentials)


class LinkInvalid(HotlineError):
    error_id = "provisioning-link-invalid"
    status = 404


@allow(Role.AGENT, Role.LEAD)
async def my_phone(request: web.Request) -> web.Response:
    who = request[USER].username
    at = request.app[ACD].seat_of_agent(who)
    if at is None:
        raise NotAtSeat("您还没有在任何座席登录")
    seat = at.name
    details = phone_details(request.app[SETTINGS], seat)
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
    xml = linphone_xml(phone_details(request.app[SETTINGS], seat))
    return web.Response(text=xml, content_type="application/xml", headers={"Cache-Control": "no-store"})


def setup(app: web.Application) -> None:
    app[LINKS] = ProvisioningLinks()
    app.router.add_post("/api/agent/phone", my_phone)
    app.router.add_get("/provision/{token}", provision)
