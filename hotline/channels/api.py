"""The outbox's routes: a lead sends an undeliverable message again and
reads its delivery attempts."""

from __future__ import annotations

from aiohttp import web

from hotline.channels.delivery import Deliverer
from hotline.channels.outbox import Outbox
from hotline.roles import Role
from hotline.web.auth import allow
from hotline.web.json import dumps

OUTBOX = web.AppKey("outbox", Outbox)
DELIVERER = web.AppKey("deliverer", Deliverer)


@allow(Role.LEAD, Role.ADMIN)
async def retry_delivery(request: web.Request) -> web.Response:
    await request.app[DELIVERER].retry(int(request.match_info["message"]))
    return web.json_response({"retrying": True}, dumps=dumps)


@allow(Role.LEAD, Role.ADMIN)
async def delivery_log(request: web.Request) -> web.Response:
    return web.json_response(
        {"attempts": await request.app[DELIVERER].log(int(request.match_info["message"]))}, dumps=dumps
    )


def setup(app: web.Application) -> None:
    app.router.add_post("/api/outbox/{message:[0-9]{1,12}}/retry", retry_delivery)
    app.router.add_get("/api/outbox/{message:[0-9]{1,12}}/attempts", delivery_log)
