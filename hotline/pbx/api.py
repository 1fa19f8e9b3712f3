"""Admins see and lift SIP blocks (pbx/sipguard.py)."""

from __future__ import annotations

import ipaddress
import zoneinfo

from aiohttp import web

from hotline.errors import BadRequest
from hotline.pbx.guard_view import guard_view
from hotline.pbx.sipguard import SipGuard
from hotline.roles import Role
from hotline.web.auth import USER, allow
from hotline.web.keys import SETTINGS
from hotline.web.pages import page

GUARD = web.AppKey("sip_guard", SipGuard)


@allow(Role.ADMIN, page=True)
async def security_page(request: web.Request) -> web.StreamResponse:
    return page("security.html")


@allow(Role.ADMIN)
async def sip_security(request: web.Request) -> web.Response:
    tz = zoneinfo.ZoneInfo(request.app[SETTINGS].ivr.timezone)
    return web.json_response(await guard_view(request.app[GUARD], tz))


@allow(Role.ADMIN)
async def lift_block(request: web.Request) -> web.Response:
    address = request.match_info["address"]
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        raise BadRequest(f"{address!r} 不是 IP 地址", field="address") from None
    await request.app[GUARD].lift(address, request[USER].username)
    return web.json_response({"lifted": address})


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/security", security_page)
    app.router.add_get("/api/security/sip", sip_security)
    app.router.add_delete("/api/security/sip/blocks/{address}", lift_block)
